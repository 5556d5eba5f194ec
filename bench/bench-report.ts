import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ImplementationName, Measurement } from './timing-harness.js'

/** One operation's figures in every mode that ran. */
export interface OpResult {
  op: string
  /** Why the operation could not be measured in this build, when it could not. */
  unavailable?: string
  query?: Partial<Record<ImplementationName, Measurement>>
  rls?: Measurement
  /** tenantry on the base table and on the `--scale` table. */
  scale?: { base: Measurement; large: Measurement }
}

/** The shape the issue asks for in `bench/results/latest.json`. */
export interface LatestRow {
  op: string
  tenantry_us: number | null
  kysely_us: number | null
  raw_us: number | null
  ratio_vs_kysely: number | null
  round_trips: number | null
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits

export function latestRows(results: OpResult[]): LatestRow[] {
  return results.map(({ op, query }) => {
    const t = query?.tenantry
    const k = query?.kysely
    return {
      op,
      tenantry_us: t ? round(t.medianUs, 1) : null,
      kysely_us: k ? round(k.medianUs, 1) : null,
      raw_us: query?.raw ? round(query.raw.medianUs, 1) : null,
      ratio_vs_kysely: t && k ? round(t.medianUs / k.medianUs, 3) : null,
      round_trips: t ? t.roundTrips : null,
    }
  })
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`)
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)].join('\n')
}

const us = (m: Measurement | undefined) => (m ? m.medianUs.toFixed(0) : '—')
const opsPerSecond = (m: Measurement | undefined) => (m ? Math.round(1e6 / m.medianUs).toLocaleString('en-US') : '—')

/** The main table: query mode, three implementations, plus tenantry under RLS when it ran. */
export function formatResults(results: OpResult[]): string {
  const withRls = results.some((r) => r.rls)
  const header = ['op', 'tenantry µs', 'kysely µs', 'raw pg µs', 'tenantry ops/s', 'vs kysely', 'round trips t/k/r']
  if (withRls) header.push('rls µs', 'rls trips')
  const rows = results.map((r) => {
    if (r.unavailable) return [r.op, ...header.slice(1).map((_, i) => (i === 0 ? 'n/a' : ''))]
    const { tenantry: t, kysely: k, raw } = r.query ?? {}
    const cells = [
      r.op,
      us(t),
      us(k),
      us(raw),
      opsPerSecond(t),
      t && k ? `${(t.medianUs / k.medianUs).toFixed(2)}x` : '—',
      [t, k, raw].map((m) => (m ? String(m.roundTrips) : '—')).join('/'),
    ]
    if (withRls) cells.push(us(r.rls), r.rls ? String(r.rls.roundTrips) : '—')
    return cells
  })
  const notes = results.filter((r) => r.unavailable).map((r) => `n/a ${r.op}: ${r.unavailable}`)
  return [table(header, rows), ...notes].join('\n')
}

export function formatScale(results: OpResult[], baseRows: number, largeRows: number): string {
  const rows = results
    .filter((r) => r.scale)
    .map((r) => [r.op, us(r.scale!.base), us(r.scale!.large), `${(r.scale!.large.medianUs / r.scale!.base.medianUs).toFixed(2)}x`])
  return table(['op (tenantry)', `${baseRows.toLocaleString('en-US')} rows µs`, `${largeRows.toLocaleString('en-US')} rows µs`, 'large / base'], rows)
}
