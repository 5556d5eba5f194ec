import pg from 'pg'

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
export function literal(client: pg.PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) {
    const items = value.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`))
    return client.escapeLiteral(`{${items.join(',')}}`)
  }
  if (value instanceof Date) return client.escapeLiteral(value.toISOString())
  return client.escapeLiteral(typeof value === 'object' ? JSON.stringify(value) : String(value))
}
