import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { startCitusCluster, type CitusCluster } from './citus-cluster.js'

/**
 * Connections on which Citus refuses what a tenant operation must never need: any multi-shard
 * task or intermediate result is an error. The cluster tests run tenant operations over them.
 */
export const STRICT = '-c citus.multi_task_query_log_level=error -c citus.max_intermediate_result_size=0'

export interface SentQuery {
  text: string
  values: unknown[]
}

/** A pool that keeps what its clients send: one `client.query` is one round trip. */
export function recordingPool(url: string, options?: string): { pool: pg.Pool; sent: SentQuery[] } {
  const sent: SentQuery[] = []
  const pool = new pg.Pool({ connectionString: url, max: 4, ...(options ? { options } : {}) })
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined]
      sent.push(typeof first === 'string' ? { text: first, values: second ?? [] } : { text: first.text, values: first.values ?? [] })
      return query(...args)
    }
  })
  return { pool, sent }
}

/** A bound value as an SQL literal, for EXPLAIN (arrays as array literals, objects as JSON). */
function literal(client: pg.PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) {
    const items = value.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`))
    return client.escapeLiteral(`{${items.join(',')}}`)
  }
  if (value instanceof Date) return client.escapeLiteral(value.toISOString())
  return client.escapeLiteral(typeof value === 'object' ? JSON.stringify(value) : String(value))
}

/**
 * The plan (`explain (costs off)`) of a statement a recording pool saw, its values written in as
 * literals: Citus's EXPLAIN of a bound statement loses its parameters ("no value found for
 * parameter 1"). Run in a transaction that is rolled back.
 */
export async function explainPlan(pool: pg.Pool, statement: SentQuery): Promise<string> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const text = statement.text.replace(/\$(\d+)\b/g, (_, n: string) => literal(client, statement.values[Number(n) - 1]))
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (costs off) ${text}`)
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  } finally {
    await client.query('rollback')
    client.release()
  }
}

/** A started cluster and the connections the cluster tests use on it. */
export interface StrictCluster {
  cluster: CitusCluster
  /** For setup and checks behind the library's back. */
  db: Kysely<any>
  /** Ordinary connections (migrations, distribute, system scopes). */
  plainPool: pg.Pool
  /** `STRICT` connections that record what they send. */
  strictPool: pg.Pool
  sent: SentQuery[]
  close(): Promise<void>
}

/**
 * Starts a coordinator with two workers and opens the cluster tests' connections to it.
 *
 * @example
 * beforeAll(async () => ({ cluster, db, plainPool, strictPool, sent } = await startStrictCluster()))
 */
export async function startStrictCluster(): Promise<StrictCluster> {
  const cluster = await startCitusCluster()
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: cluster.url, max: 2 }) }) })
  const plainPool = new pg.Pool({ connectionString: cluster.url, max: 4 })
  const { pool: strictPool, sent } = recordingPool(cluster.url, STRICT)
  return {
    cluster,
    db,
    plainPool,
    strictPool,
    sent,
    async close() {
      await strictPool.end()
      await plainPool.end()
      await db.destroy()
      await cluster.stop()
    },
  }
}
