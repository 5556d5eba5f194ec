import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { ImplementationName, Measurement } from './timing-harness.js'
import type { ColdStartResult, ConcurrencyResult } from './throughput.js'

/** One operation's figures in every mode that ran. */
export interface OpResult {
  op: string
  /** Why the operation could not be measured in this build, when it could not. */
  unavailable?: string
  query?: Partial<Record<ImplementationName, Measurement>>
  rls?: Measurement
  /** tenantry under RLS with a pipelining pool (`new pg.Pool({ pipeline: true })`). */
  rlsPipelined?: Measurement
  /** tenantry on the base table and on the `--scale` table. */
  scale?: { base: Measurement; large: Measurement }
}

/** One operation in `bench/results/latest.json`. */
export interface LatestRow {
  op: string
  tenantry_us: number | null
  kysely_us: number | null
  raw_us: number | null
  ratio_vs_kysely: number | null
  round_trips: number | null
  /** Client CPU (user + system µs of the Node process) per call. */
  tenantry_cpu_us: number | null
  kysely_cpu_us: number | null
  cpu_ratio_vs_kysely: number | null
  rls_us: number | null
  rls_round_trips: number | null
  rls_pipelined_us: number | null
  rls_pipelined_round_trips: number | null
}

/** `bench/results/latest.json`: every figure of the main table, from one run. */
export interface Latest {
  mode: string
  ops: LatestRow[]
  concurrency: ConcurrencyResult | null
  coldStart: ColdStartResult | null
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits
const us1 = (m: Measurement | undefined) => (m ? round(m.medianUs, 1) : null)

export function latestRows(results: OpResult[]): LatestRow[] {
  return results.map(({ op, query, rls, rlsPipelined }) => {
    const t = query?.tenantry
    const k = query?.kysely
    return {
      op,
      tenantry_us: us1(t),
      kysely_us: us1(k),
      raw_us: us1(query?.raw),
      ratio_vs_kysely: t && k ? round(t.medianUs / k.medianUs, 3) : null,
      round_trips: t ? t.roundTrips : null,
      tenantry_cpu_us: t ? round(t.cpuUs, 1) : null,
      kysely_cpu_us: k ? round(k.cpuUs, 1) : null,
      cpu_ratio_vs_kysely: t && k && k.cpuUs > 0 ? round(t.cpuUs / k.cpuUs, 3) : null,
      rls_us: us1(rls),
      rls_round_trips: rls ? rls.roundTrips : null,
      rls_pipelined_us: us1(rlsPipelined),
      rls_pipelined_round_trips: rlsPipelined ? rlsPipelined.roundTrips : null,
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
const num = (value: number | null, digits = 0) => (value === null ? '—' : value.toFixed(digits))
const ratio = (value: number | null) => (value === null ? '—' : `${value.toFixed(2)}x`)

/**
 * The main table, from `latest.json` rows: query mode (three implementations, CPU per call),
 * then tenantry under RLS without and with a pipelining pool. `bench/latest-table.ts` prints it
 * again from the file, so the docs can be regenerated without re-running.
 */
export function formatLatest(latest: Latest): string {
  const header = [
    'op',
    'tenantry µs',
    'kysely µs',
    'raw pg µs',
    'vs kysely',
    'cpu µs t/k',
    'cpu vs kysely',
    'trips',
    'rls µs',
    'rls trips',
    'rls pipelined µs',
    'pipelined trips',
  ]
  const rows = latest.ops.map((r) => [
    r.op,
    num(r.tenantry_us),
    num(r.kysely_us),
    num(r.raw_us),
    ratio(r.ratio_vs_kysely),
    `${num(r.tenantry_cpu_us)}/${num(r.kysely_cpu_us)}`,
    ratio(r.cpu_ratio_vs_kysely),
    num(r.round_trips),
    num(r.rls_us),
    num(r.rls_round_trips),
    num(r.rls_pipelined_us),
    num(r.rls_pipelined_round_trips),
  ])
  const parts = [table(header, rows)]
  const extra: string[][] = []
  const c = latest.concurrency
  if (c) {
    extra.push([
      `throughput, ${c.callers} callers on a pool of ${c.poolSize} (${c.mix.join(', ')})`,
      `${Math.round(c.tenantryOpsPerSecond).toLocaleString('en-US')} ops/s`,
      `${Math.round(c.kyselyOpsPerSecond).toLocaleString('en-US')} ops/s`,
      `${(c.tenantryOpsPerSecond / c.kyselyOpsPerSecond).toFixed(2)}x`,
    ])
  }
  const s = latest.coldStart
  if (s) {
    extra.push([
      'cold start: new instance to first findById result',
      `${s.tenantryUs.toFixed(0)} µs`,
      `${s.kyselyUs.toFixed(0)} µs`,
      `${(s.tenantryUs / s.kyselyUs).toFixed(2)}x`,
    ])
  }
  if (extra.length > 0) parts.push('', table(['figure', 'tenantry', 'kysely', 'tenantry / kysely'], extra))
  return parts.join('\n')
}

export function formatScale(results: OpResult[], baseRows: number, largeRows: number): string {
  const rows = results
    .filter((r) => r.scale)
    .map((r) => [r.op, us(r.scale!.base), us(r.scale!.large), `${(r.scale!.large.medianUs / r.scale!.base.medianUs).toFixed(2)}x`])
  return table(['op (tenantry)', `${baseRows.toLocaleString('en-US')} rows µs`, `${largeRows.toLocaleString('en-US')} rows µs`, 'large / base'], rows)
}
