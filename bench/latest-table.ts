/**
 * Prints the main table again from `bench/results/latest.json`; with `--write-docs`, replaces the
 * generated block of docs/performance.md (between `<!-- bench:table -->` markers) with it.
 * `node scripts/on-node22.mjs tsx bench/latest-table.ts [--write-docs]`
 */
import { readFile, writeFile } from 'node:fs/promises'
import { formatLatest, type Latest } from './bench-report.js'

const START = '<!-- bench:table:start -->'
const END = '<!-- bench:table:end -->'

async function main(): Promise<void> {
  const latest = JSON.parse(await readFile(new URL('./results/latest.json', import.meta.url), 'utf8')) as Latest
  const text = formatLatest(latest)
  if (!process.argv.includes('--write-docs')) {
    console.log(text)
    return
  }
  const docs = new URL('../docs/performance.md', import.meta.url)
  const page = await readFile(docs, 'utf8')
  const from = page.indexOf(START)
  const to = page.indexOf(END)
  if (from < 0 || to < from) throw new Error(`docs/performance.md: no ${START} ... ${END} block`)
  await writeFile(docs, `${page.slice(0, from + START.length)}\n\n${text}\n\n${page.slice(to)}`)
  console.log('docs/performance.md: table replaced')
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
