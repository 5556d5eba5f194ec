#!/usr/bin/env node
// Runs a project command on Node >= 22 (tenantry's floor), installing dependencies first on a
// fresh clone. On an older `node`, it borrows Node 22 from the npm registry through `npx`.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
if (args.length === 0) {
  console.error('usage: node scripts/on-node22.mjs <command> [args...]')
  process.exit(2)
}

const run = (command, commandArgs, env = process.env) => spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env, shell: false })

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  const install = run('npm', [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install'])
  if (install.status !== 0) process.exit(install.status ?? 1)
}

const major = Number(process.versions.node.split('.')[0])
const binPath = join(root, 'node_modules', '.bin')
const env = { ...process.env, PATH: `${binPath}:${process.env.PATH ?? ''}` }
const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
const result = major >= 22 ? run('sh', ['-c', quoted], env) : run('npx', ['-y', '-p', 'node@22', '-c', quoted], env)
process.exit(result.status ?? 1)
