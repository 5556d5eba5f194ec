/** Command-line settings of `npm run bench`. Sizes are chosen so `--quick` stays under two minutes on 2 cores. */

export type BenchMode = 'smoke' | 'quick' | 'full'

export interface BenchOptions {
  mode: BenchMode
  /** `--scale`: also run on 1,000 tenants / 1,000,000 rows and compare with the base table. */
  scale: boolean
  /** Timed rounds per operation; the median of them is reported. */
  samples: number
  /** Calls per timed round (a round's time divided by this is one sample). */
  batch: number
  /** Untimed calls per implementation before timing (plans cached, connections warm). */
  warmup: number
  /** Base fixture: tenants x rows per tenant host rows, and as many audit rows. */
  tenants: number
  rowsPerTenant: number
  /** The `--scale` fixture. */
  scaleTenants: number
  scaleRowsPerTenant: number
  /** `--only=findById,page`: measure only these operations (names as in the table). */
  only: string[] | null
  /** `--query-only`: skip the RLS runs, the concurrency figure and the cold start. */
  queryOnly: boolean
}

const presets: Record<BenchMode, Omit<BenchOptions, 'mode' | 'scale' | 'only' | 'queryOnly'>> = {
  // Development only: proves every code path runs, figures mean nothing.
  smoke: { samples: 3, batch: 2, warmup: 2, tenants: 4, rowsPerTenant: 250, scaleTenants: 20, scaleRowsPerTenant: 250 },
  quick: { samples: 15, batch: 10, warmup: 20, tenants: 10, rowsPerTenant: 1000, scaleTenants: 1000, scaleRowsPerTenant: 1000 },
  full: { samples: 41, batch: 25, warmup: 50, tenants: 10, rowsPerTenant: 1000, scaleTenants: 1000, scaleRowsPerTenant: 1000 },
}

export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  // --citus: bench/citus/run-citus.ts (a cluster on this machine) instead of the single-node bench
  const known = new Set(['--quick', '--smoke', '--scale', '--full', '--query-only', '--citus'])
  const unknown = argv.filter((arg) => !known.has(arg) && !arg.startsWith('--only='))
  if (unknown.length > 0) throw new Error(`bench: unknown argument ${unknown.join(' ')} (use --quick, --smoke, --scale, --only=op,op, --query-only, --citus)`)
  const mode: BenchMode = argv.includes('--smoke') || env.BENCH_SMOKE === '1' ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full'
  const onlyArg = argv.find((arg) => arg.startsWith('--only='))
  const only = onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : null
  return { mode, scale: argv.includes('--scale'), ...presets[mode], only, queryOnly: argv.includes('--query-only') }
}
