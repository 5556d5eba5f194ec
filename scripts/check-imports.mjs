#!/usr/bin/env node
// The layer rule of src/ (docs/architecture.md): every relative import, `import type` included,
// points to the same folder or to a lower layer, and no chain of imports comes back to where it
// started. Run alone (`node scripts/check-imports.mjs`) or as part of `npm run check`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/**
 * Folder (or file at the top of src/) → layer rank, lowest first. A module may import modules of
 * its own folder and of folders with a lower rank, never of its rank or above elsewhere.
 * Keep in step with the table in docs/architecture.md.
 */
export const LAYERS = [
  // Bottom: no tenantry imports but each other's.
  ['errors', 0],
  ['util', 1],
  ['validation', 2],
  // Table declarations, models and the registry of bundled tables.
  ['schema', 3],
  // State every scope shares: runtime, audit event shape, retry policy, pool guard.
  ['runtime', 4],
  // Tenant and soft-delete predicates (the one module that builds them).
  ['predicates', 5],
  // The write pipeline: unit of work, audited statement, outcome records, sink.
  ['execution', 6],
  // Features, lower row first: a feature may use one of a lower row.
  ['repository', 7],
  ['tokens', 7],
  ['migration', 7],
  ['rls', 7],
  ['scoped-kysely', 7],
  ['audit', 8],
  ['lint', 8],
  ['citus', 8],
  ['demo', 8],
  ['rbac', 8],
  // Front door: createTenantry, defineTable, TenantScope, the entry point (files at src/).
  ['.', 9],
  // Entry points built on the front door.
  ['testing', 10],
  ['cli', 11],
]

const root = new URL('..', import.meta.url).pathname
const rankOf = new Map(LAYERS)

/** The layer folder of a file under src/ (`.` for files directly in src/). */
function folderOf(file) {
  const parts = relative('src', file).split('/')
  return parts.length === 1 ? '.' : parts[0]
}

function walk(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

// `import ... from`, `export ... from`, `import type`, side-effect imports and `import()`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g

function resolveImport(from, specifier) {
  const base = join(dirname(from), specifier)
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]
  return candidates.find((file) => existsSync(join(root, file)) && statSync(join(root, file)).isFile()) ?? null
}

/** Every relative import of src/ as `file → [imported file]`. */
export function importGraph() {
  const graph = new Map()
  const problems = []
  for (const file of walk('src')) {
    const text = readFileSync(join(root, file), 'utf8').replace(/^\s*(\/\/.*|\*.*|\/\*.*)$/gm, '')
    const targets = new Set()
    for (const match of text.matchAll(SPECIFIER)) {
      const target = resolveImport(file, match[1])
      if (target === null) problems.push(`${file}: cannot resolve "${match[1]}"`)
      else targets.add(target)
    }
    graph.set(file, [...targets])
  }
  return { graph, problems }
}

function upwardImports(graph) {
  const problems = []
  for (const [file, targets] of graph) {
    const from = folderOf(file)
    const fromRank = rankOf.get(from)
    if (fromRank === undefined) {
      problems.push(`${file}: folder "${from}" has no layer; add it to LAYERS in scripts/check-imports.mjs and to docs/architecture.md`)
      continue
    }
    for (const target of targets) {
      const to = folderOf(target)
      if (to === from) continue
      const toRank = rankOf.get(to)
      if (toRank === undefined || toRank >= fromRank) {
        problems.push(`${file} → ${target}: "${from}" (layer ${fromRank}) may not import "${to}" (layer ${toRank ?? '?'})`)
      }
    }
  }
  return problems
}

/** Strongly connected components with more than one file (Tarjan), each one a cycle to break. */
function cycles(graph) {
  let index = 0
  const stack = []
  const state = new Map()
  const found = []
  const connect = (file) => {
    const node = { index, low: index, onStack: true }
    index += 1
    state.set(file, node)
    stack.push(file)
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target)
      if (!seen) {
        connect(target)
        node.low = Math.min(node.low, state.get(target).low)
      } else if (seen.onStack) {
        node.low = Math.min(node.low, seen.index)
      }
    }
    if (node.low === node.index) {
      const component = []
      let member
      do {
        member = stack.pop()
        state.get(member).onStack = false
        component.push(member)
      } while (member !== file)
      const selfImport = (graph.get(file) ?? []).includes(file)
      if (component.length > 1 || selfImport) found.push(component.sort())
    }
  }
  for (const file of graph.keys()) if (!state.has(file)) connect(file)
  return found
}

/** The folder map of docs/architecture.md must give every folder the rank `LAYERS` gives it. */
function documentedLayers() {
  const text = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8')
  const documented = new Map()
  for (const match of text.matchAll(/^\| (\d+) \| `([^`]+)`/gm)) {
    documented.set(match[2] === 'src/*.ts' ? '.' : match[2].replace(/\/$/, ''), Number(match[1]))
  }
  const problems = []
  for (const [folder, rank] of LAYERS) {
    if (documented.get(folder) !== rank) problems.push(`docs/architecture.md: folder "${folder}" should be listed with layer ${rank}`)
  }
  for (const folder of documented.keys()) {
    if (!rankOf.has(folder)) problems.push(`docs/architecture.md lists "${folder}", which LAYERS in scripts/check-imports.mjs lacks`)
  }
  return problems
}

export function checkImports() {
  const { graph, problems } = importGraph()
  problems.push(...documentedLayers())
  problems.push(...upwardImports(graph))
  for (const component of cycles(graph)) {
    problems.push(`import cycle through ${component.length} files:\n    ${component.join('\n    ')}`)
  }
  return problems
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkImports()
  if (problems.length > 0) {
    console.error(`import check: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`)
    process.exit(1)
  }
  console.log('import check: no upward import, no cycle')
}
