import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createTenantry } from '../../src/index.js'
import { citusUnavailable, startCitusCluster } from '../../test/support/citus-cluster.js'
import { countingPool, type CountingPool } from '../../test/support/counting-pool.js'
import { citusBenchOps, citusBenchTables, mixedRequest, prepareCitusBench, type CitusBenchOp } from './citus-workload.js'

/**
 * `npm run bench -- --citus`: tenantry on a Citus cluster started on this machine (PostgreSQL 15 +
 * Citus 13, see scripts/install-citus.sh), against the same PostgreSQL as a single node.
 * - per operation: median latency and round trips, single node vs coordinator + 2 workers;
 * - throughput of a mixed workload (60% reads, 30% updates, 10% creates) over 200 tenants with
 *   1 and with 2 workers.
 * Every node runs on this one machine: the figures compare shapes (round trips, hops), not the
 * capacity of a real cluster, where each worker has its own cores and disks.
 */

export interface CitusBenchOptions {
  /** Calls per operation (the median is reported). */
  calls: number
  /** Seconds of mixed workload per cluster size. */
  seconds: number
  concurrency: number
  tenants: number
  rowsPerTenant: number
}

export const CITUS_BENCH_PRESETS: Record<'smoke' | 'quick' | 'full', CitusBenchOptions> = {
  smoke: { calls: 5, seconds: 2, concurrency: 4, tenants: 20, rowsPerTenant: 20 },
  quick: { calls: 60, seconds: 10, concurrency: 8, tenants: 200, rowsPerTenant: 50 },
  full: { calls: 200, seconds: 30, concurrency: 16, tenants: 200, rowsPerTenant: 200 },
}

interface Setup {
  label: string
  workers: number
  distribute: boolean
}

interface OpFigure {
  ms: number
  roundTrips: number
}

const log = (line: string) => console.log(line)
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Median time and round trips of each Citus bench operation, one tenant after another. */
async function measureCitusOps(
  tenantry: Parameters<CitusBenchOp>[0],
  counting: CountingPool,
  tenants: string[],
  rowOf: Map<string, string>,
  options: CitusBenchOptions,
): Promise<Record<string, OpFigure>> {
  const ops: Record<string, OpFigure> = {}
  for (const [name, op] of Object.entries(citusBenchOps)) {
    const times: number[] = []
    const trips: number[] = []
    for (let i = 0; i < options.calls; i++) {
      const tenant = tenants[i % tenants.length]!
      const before = counting.count
      const start = performance.now()
      await op(tenantry, tenant, rowOf.get(tenant)!)
      times.push(performance.now() - start)
      trips.push(counting.count - before)
    }
    ops[name] = { ms: median(times), roundTrips: median(trips) }
  }
  return ops
}

async function onCluster(setup: Setup, options: CitusBenchOptions, measureOps: boolean) {
  const cluster = await startCitusCluster({ workers: setup.workers })
  const counting = countingPool(cluster.url, options.concurrency + 2)
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: cluster.url, max: 2 }) }) })
  try {
    const tenants = await prepareCitusBench(counting.pool, db, { tenants: options.tenants, rowsPerTenant: options.rowsPerTenant, distribute: setup.distribute })
    const { rows } = await sql<{
      tenant_id: string
      id: string
    }>`select distinct on (tenant_id) tenant_id, id from public.projects order by tenant_id, id`.execute(db)
    const rowOf = new Map(rows.map((r) => [r.tenant_id, r.id]))
    const tenantry = createTenantry({ pool: counting.pool, tables: citusBenchTables })
    await tenantry.ready()
    const ops = measureOps ? await measureCitusOps(tenantry, counting, tenants, rowOf, options) : {}
    // The same operations over a pool that pipelines (`new pg.Pool({ pipeline: true })`): what it saves on a cluster.
    let pipelinedOps: Record<string, OpFigure> = {}
    if (measureOps && setup.distribute) {
      const pipelined = countingPool(cluster.url, 4, { pipeline: true })
      try {
        const overPipeline = createTenantry({ pool: pipelined.pool, tables: citusBenchTables })
        await overPipeline.ready()
        pipelinedOps = await measureCitusOps(overPipeline, pipelined, tenants, rowOf, options)
      } finally {
        await pipelined.pool.end()
      }
    }
    let done = 0
    const deadline = Date.now() + options.seconds * 1000
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (Date.now() < deadline) {
          const tenant = tenants[Math.floor(Math.random() * tenants.length)]!
          await mixedRequest(tenantry, tenant, rowOf.get(tenant)!, Math.random())
          done++
        }
      }),
    )
    return { ops, pipelinedOps, throughput: done / options.seconds }
  } finally {
    await counting.pool.end()
    await db.destroy()
    await cluster.stop()
  }
}

/** Runs the Citus bench and prints its tables; the caller picks the preset (`--smoke`, `--quick`). */
export async function runCitusBench(options: CitusBenchOptions): Promise<void> {
  const unavailable = citusUnavailable()
  if (unavailable) throw new Error(`bench --citus: ${unavailable}`)
  log(
    `tenantry bench --citus: ${options.tenants} tenants x ${options.rowsPerTenant} rows, ${options.calls} calls per op, ${options.seconds} s mixed workload x ${options.concurrency}`,
  )
  const single = await onCluster({ label: 'single node', workers: 0, distribute: false }, options, true)
  const one = await onCluster({ label: '1 worker', workers: 1, distribute: true }, options, false)
  const two = await onCluster({ label: '2 workers', workers: 2, distribute: true }, options, true)
  log('\noperation              single node (ms, round trips)   coordinator + 2 workers (ms, round trips)   same, pipelining pool')
  const cell = (f: OpFigure | undefined) => (f ? `${f.ms.toFixed(2).padStart(8)} ms ${String(f.roundTrips).padStart(3)}` : '       —       ')
  for (const name of Object.keys(single.ops)) {
    log(`${name.padEnd(22)} ${cell(single.ops[name])}          ${cell(two.ops[name])}                  ${cell(two.pipelinedOps[name])}`)
  }
  log(
    `\nmixed workload, ${options.tenants} tenants, ${options.concurrency} concurrent: single node ${single.throughput.toFixed(0)} ops/s, ` +
      `1 worker ${one.throughput.toFixed(0)} ops/s, 2 workers ${two.throughput.toFixed(0)} ops/s`,
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const preset = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--full') ? 'full' : 'quick'
  runCitusBench(CITUS_BENCH_PRESETS[preset]).catch((error) => {
    console.error(`bench --citus failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exit(1)
  })
}
