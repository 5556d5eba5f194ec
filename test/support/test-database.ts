import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, inject } from 'vitest'
import { cloneTestDatabase } from '../../src/testing/clone-test-database.js'

export interface RoundTripCounter {
  /** Round trips (client.query calls, one network flight each) since the last reset. */
  readonly count: number
  reset(): void
  /** Runs `fn` and returns how many round trips it took. */
  measure(fn: () => Promise<unknown>): Promise<number>
}

export interface FileDatabase {
  url: string
  name: string
  pool: pg.Pool
  /** Kysely on a separate pool, for checking the database state behind the library's back. */
  db: Kysely<any>
  roundTrips: RoundTripCounter
}

/**
 * A fresh copy of the migrated template database for this test file, dropped after the file.
 * `pool` counts its round trips; `db` is for assertions and does not count.
 */
export async function useFileDatabase(options: { poolSize?: number } = {}): Promise<FileDatabase> {
  const clone = await cloneTestDatabase({ serverUrl: inject('testServerUrl'), template: inject('templateDatabase') })
  const { url, name } = clone
  let count = 0
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 })
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      count++
      return query(...args)
    }
  })
  const checkPool = new pg.Pool({ connectionString: url, max: 4 })
  // DROP DATABASE ... WITH (FORCE) after the file ends connections still closing; not a failure.
  pool.on('error', () => {})
  checkPool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: checkPool }) })
  const roundTrips: RoundTripCounter = {
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
  afterAll(async () => {
    await pool.end()
    await db.destroy()
    await clone.drop()
  })
  return { url, name, pool, db, roundTrips }
}
