#!/usr/bin/env node
// After `tsup`: the bundled declarations export a class as a value even when src/index.ts exports
// it with `export type` (the d.ts bundler drops the modifier), so `new Repository(...)` or
// `instanceof Tenantry` would type-check and then fail at run time. Every name an entry's
// declarations export that its JavaScript does not export is marked `type` here.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const dist = new URL('../dist', import.meta.url).pathname
const entries = ['index', 'testing/index']

const exportLists = /export\s*\{([^}]*)\}/g
const exportedName = (specifier) =>
  specifier
    .trim()
    .split(/\s+as\s+/)
    .at(-1)
    .trim()

for (const entry of entries) {
  const js = readFileSync(join(dist, `${entry}.js`), 'utf8')
  const values = new Set([...js.matchAll(exportLists)].flatMap((m) => m[1].split(',').map(exportedName).filter(Boolean)))
  for (const ext of ['.d.ts', '.d.cts']) {
    const file = join(dist, `${entry}${ext}`)
    if (!existsSync(file)) continue
    const text = readFileSync(file, 'utf8')
    const fixed = text.replace(exportLists, (_, list) => {
      const specifiers = list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      const marked = specifiers.map((s) => (s.startsWith('type ') || values.has(exportedName(s)) ? s : `type ${s}`))
      return `export { ${marked.join(', ')} }`
    })
    if (fixed !== text) writeFileSync(file, fixed)
  }
}
