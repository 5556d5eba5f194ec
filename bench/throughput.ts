import { performance } from 'node:perf_hooks'
import { Kysely, PostgresDialect } from 'kysely'
import { tenantryOver, type BenchDatabase } from './bench-database.js'
import { countingPool } from '../test/support/counting-pool.js'
import type { OpCall } from './timing-harness.js'
import type { OpContext, OpDefinition } from './ops/op-context.js'
import { readOps } from './ops/read-ops.js'
import { writeOps } from './ops/write-ops.js'
import type { BenchMode } from './bench-options.js'

/** Throughput of many callers sharing one pool, and the cost of a first call on a new instance. */

export interface ConcurrencyResult {
  callers: number
  poolSize: number
  /** The mix each caller cycles through. */
  mix: string[]
  tenantryOpsPerSecond: number
  kyselyOpsPerSecond: number
}

export interface ColdStartResult {
  /** Median µs from `createTenantry` to the first `findById` result (column introspection included). */
  tenantryUs: number
  /** Median µs from `new Kysely` to the first result of the same hand-written query. */
  kyselyUs: number
}

const CALLERS = 50
const POOL_SIZE = 10
/** Three reads to one audited write, the shape of a typical request mix. */
const MIX = ['findById', 'findById', 'findMany(50)', 'update']

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** `callers` loops over the mix for `windowMs`; the calls completed per second. */
async function opsPerSecond(mix: OpCall[], windowMs: number): Promise<number> {
  let done = 0
  const until = performance.now() + windowMs
  const started = performance.now()
  const caller = async (offset: number) => {
    for (let i = offset; performance.now() < until; i++) {
      await mix[i % mix.length]!()
      done++
    }
  }
  await Promise.all(Array.from({ length: CALLERS }, (_, i) => caller(i)))
  return (done * 1000) / (performance.now() - started)
}

/**
 * 50 concurrent callers on a pool of 10, tenantry and hand-written Kysely over the same database,
 * in alternating windows (the order swaps every round, so drift hits both alike); the median.
 */
export async function measureConcurrency(database: BenchDatabase, mode: BenchMode): Promise<ConcurrencyResult> {
  const counter = countingPool(database.url, POOL_SIZE)
  const tenantry = tenantryOver(counter.pool, 'query')
  const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool: counter.pool }) })
  try {
    await tenantry.ready()
    const ctx: OpContext = { ...database.ctx, tenantry, kysely, pool: counter.pool }
    const defs: OpDefinition[] = [...readOps, ...writeOps]
    const built = new Map<string, Awaited<ReturnType<OpDefinition['build']>>>()
    for (const op of new Set(MIX)) built.set(op, await defs.find((d) => d.op === op)!.build(ctx))
    const callsOf = (name: 'tenantry' | 'kysely') =>
      MIX.map((op) => {
        const impl = built.get(op)!
        if ('unavailable' in impl) throw new Error(`bench: ${op} is unavailable`)
        return impl[name]!
      })
    const mixes = { tenantry: callsOf('tenantry'), kysely: callsOf('kysely') }
    const [rounds, windowMs] = mode === 'smoke' ? [1, 200] : mode === 'quick' ? [3, 1500] : [5, 3000]
    await opsPerSecond(mixes.tenantry, windowMs / 3)
    await opsPerSecond(mixes.kysely, windowMs / 3)
    const samples = { tenantry: [] as number[], kysely: [] as number[] }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['tenantry', 'kysely'] as const) : (['kysely', 'tenantry'] as const)
      for (const name of order) samples[name].push(await opsPerSecond(mixes[name], windowMs))
    }
    return { callers: CALLERS, poolSize: POOL_SIZE, mix: MIX, tenantryOpsPerSecond: median(samples.tenantry), kyselyOpsPerSecond: median(samples.kysely) }
  } finally {
    await counter.pool.end()
  }
}

/**
 * From `createTenantry` (over a warm pool) to the first `findById` result: the instance's first use
 * reads the declared tables' columns (one round trip). Hand-written Kysely: `new Kysely` to its
 * first result. Interleaved, the median of each.
 */
export async function measureColdStart(database: BenchDatabase, mode: BenchMode): Promise<ColdStartResult> {
  const { ctx } = database
  const samples = mode === 'smoke' ? 3 : mode === 'quick' ? 15 : 41
  const id = ctx.ids[0]!
  const tenantryFirst = async () => {
    const start = performance.now()
    const tenantry = tenantryOver(ctx.pool, 'query')
    await tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId }).repo('projects').findById(id)
    return (performance.now() - start) * 1000
  }
  const kyselyFirst = async () => {
    const start = performance.now()
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: ctx.pool }) })
    await db
      .selectFrom('projects')
      .selectAll()
      .where('tenant_id', '=', ctx.tenantId)
      .where('deleted_at', 'is', null)
      .where('id', '=', id)
      .limit(1)
      .executeTakeFirst()
    return (performance.now() - start) * 1000
  }
  const t: number[] = []
  const k: number[] = []
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      t.push(await tenantryFirst())
      k.push(await kyselyFirst())
    } else {
      k.push(await kyselyFirst())
      t.push(await tenantryFirst())
    }
  }
  return { tenantryUs: median(t), kyselyUs: median(k) }
}
