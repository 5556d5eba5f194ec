import pg from 'pg'

/**
 * A `pg.Pool` whose clients count `query` calls: one call is one network flight (the extended
 * protocol sends parse/bind/execute/sync together). The same counting as test/support/test-database.ts,
 * and every implementation under test shares the pool, so their counts are comparable.
 */
export interface CountingPool {
  pool: pg.Pool
  /** Queries sent since the pool was made. */
  readonly count: number
  /** Runs `fn` and returns how many round trips it took. */
  measure(fn: () => Promise<unknown>): Promise<number>
}

export function countingPool(url: string, max = 4): CountingPool {
  let count = 0
  const pool = new pg.Pool({ connectionString: url, max })
  // An idle client dropped by the server (a database dropped at the end of a run) must not crash the run.
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      count++
      return query(...args)
    }
  })
  return {
    pool,
    get count() {
      return count
    },
    async measure(fn) {
      const before = count
      await fn()
      return count - before
    },
  }
}
