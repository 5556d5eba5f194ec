import pg from 'pg'

/** Round trips of a pool: one `client.query` call is one network flight (parse/bind/execute/sync go together). */
export interface RoundTripCounter {
  /** Round trips since the pool was made or last reset. */
  readonly count: number
  reset(): void
  /** Runs `fn` and returns how many round trips it took. */
  measure(fn: () => Promise<unknown>): Promise<number>
}

export interface CountingPool extends RoundTripCounter {
  pool: pg.Pool
}

/**
 * A `pg.Pool` whose clients count their queries: what the tests and the benchmark mean by
 * "round trips per operation". With `pipeline: true` (pg's pipeline mode) a query written while
 * others on the same connection still await their answers travels with them: it is counted only
 * when the connection had nothing in flight.
 */
export function countingPool(url: string, max = 4, options: { pipeline?: boolean } = {}): CountingPool {
  let count = 0
  const pool = new pg.Pool({ connectionString: url, max, ...(options.pipeline ? { pipeline: true } : {}) })
  // An idle client ended by the server (a database dropped at the end of a run) is not a failure.
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    let inFlight = 0
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (!options.pipeline) {
        count++
        return query(...args)
      }
      if (inFlight === 0) count++
      const result = query(...args)
      if (result instanceof Promise) {
        inFlight++
        const settle = () => {
          inFlight--
        }
        result.then(settle, settle)
      }
      return result
    }
  })
  return {
    pool,
    get count() {
      return count
    },
    reset() {
      count = 0
    },
    async measure(fn) {
      const before = count
      await fn()
      return count - before
    },
  }
}
