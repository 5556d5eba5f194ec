import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, inject } from 'vitest'
import { cloneTestDatabase } from '../../src/testing/clone-test-database.js'
import { countingPool, type RoundTripCounter } from './counting-pool.js'

export type { RoundTripCounter } from './counting-pool.js'

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
  const roundTrips = countingPool(url, options.poolSize ?? 10)
  const pool = roundTrips.pool
  const checkPool = new pg.Pool({ connectionString: url, max: 4 })
  // DROP DATABASE ... WITH (FORCE) after the file ends connections still closing; not a failure.
  checkPool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: checkPool }) })
  afterAll(async () => {
    await pool.end()
    await db.destroy()
    await clone.drop()
  })
  return { url, name, pool, db, roundTrips }
}
