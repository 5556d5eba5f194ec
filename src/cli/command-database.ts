import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { guardPool } from '../runtime/guarded-pool.js'
import type { DatabaseUrl } from './database-url.js'

/**
 * A Kysely instance on one connection to `DATABASE_URL`, for a command that talks to the database
 * directly: its client always has an `error` listener (`guardPool`), so a connection the server
 * drops is a failed command, never a crash. The caller destroys it.
 *
 * @example
 * const db = openCommandDatabase(target)
 * try { await lintSchema(db, options) } finally { await db.destroy() }
 */
export function openCommandDatabase(target: DatabaseUrl): Kysely<any> {
  const pool = new pg.Pool({ connectionString: target.url, max: 1 })
  return new Kysely<any>({ dialect: new PostgresDialect({ pool: guardPool(pool) }) })
}
