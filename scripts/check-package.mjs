#!/usr/bin/env node
// `npm run check`: type check, the layer check of src/ imports, the public-surface check, then publint and
// @arethetypeswrong/cli on the packed tarball (what users actually install).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { checkImports } from './check-imports.mjs'

const root = new URL('..', import.meta.url).pathname
const bin = (name) => join(root, 'node_modules', '.bin', name)
const run = (cmd, args, options = {}) => execFileSync(bin(cmd), args, { cwd: root, stdio: 'inherit', ...options })

console.log('» type check')
run('tsc', ['--noEmit', '-p', 'tsconfig.json'])

console.log('» layers: no upward import, no import cycle in src/ (scripts/check-imports.mjs)')
const importProblems = checkImports()
if (importProblems.length > 0) {
  console.error(`import check: ${importProblems.length} problem(s)\n  ${importProblems.join('\n  ')}`)
  process.exit(1)
}

console.log('» public surface: every module under src/ is reachable from an entry point')
const entries = ['src/index.ts', 'src/testing/index.ts', 'src/cli/index.ts']
const reachable = new Set()
const visit = (file) => {
  if (reachable.has(file)) return
  reachable.add(file)
  const text = readFileSync(join(root, file), 'utf8')
  for (const match of text.matchAll(/from '(\.[^']+)\.js'/g)) {
    const target = join(file, '..', `${match[1]}.ts`)
    visit(relative(root, join(root, target)))
  }
  for (const match of text.matchAll(/import\('(\.[^']+)\.js'\)/g)) {
    visit(relative(root, join(root, file, '..', `${match[1]}.ts`)))
  }
}
entries.forEach(visit)
const walk = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  )
function walkDist(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walkDist(join(dir, d.name)) : [join(dir, d.name)]))
}
const orphans = walk('src').filter((f) => !reachable.has(f))
if (orphans.length > 0) {
  console.error(`modules not reachable from any entry point:\n  ${orphans.join('\n  ')}`)
  process.exit(1)
}

console.log('» build')
run('tsup', [])
execFileSync(process.execPath, ['scripts/dts-type-only.mjs'], { cwd: root, stdio: 'inherit' })
console.log('» public API matches etc/public-api.txt (npm run api:update after a deliberate change)')
execFileSync(process.execPath, ['scripts/check-exports.mjs'], { cwd: root, stdio: 'inherit' })
console.log('» format and lint (biome ci)')
run('biome', ['ci', '.'])

console.log('» one copy of each public class across the entry points (shared chunks)')
for (const ext of ['.js', '.cjs']) {
  const files = walkDist('dist').filter((f) => f.endsWith(ext))
  const copies = files.filter((f) => /(class TenantryError\b|TenantryError = class\b)/.test(readFileSync(join(root, f), 'utf8')))
  if (copies.length !== 1) {
    console.error(`TenantryError is defined in ${copies.length} ${ext} files (${copies.join(', ')}); entry points must share it`)
    process.exit(1)
  }
}

console.log('» pack')
const out = mkdtempSync(join(tmpdir(), 'tenantry-pack-'))
try {
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1)
  const tarball = join(out, packed)
  console.log('» publint')
  run('publint', ['run', tarball, '--strict'])
  console.log('» @arethetypeswrong/cli')
  run('attw', [tarball, '--profile', 'node16'])
} finally {
  rmSync(out, { recursive: true, force: true })
}
console.log('check: all clean')
