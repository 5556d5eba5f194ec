/**
 * Where an example runs: a fresh database of its own, and nothing left behind afterwards.
 *
 * - No `DATABASE_URL`: an embedded PostgreSQL is started (and stopped by `close()`), and the example
 *   gets a new database on it with the default schemas (`tenantry` and `public`).
 * - `DATABASE_URL` whose role may `CREATE DATABASE`: a throwaway database on that server, dropped by `close()`.
 * - `DATABASE_URL` whose role may not: that database itself, in two fresh, uniquely named schemas
 *   (tenantry's bundled tables and the example's own), dropped by `close()`.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startTestDatabase, type TestDatabaseSource } from '../../src/testing/index.js'

export interface DemoDatabase {
  /** A pool on the example's database; ended by `close()`. */
  pool: pg.Pool
  /** Connection string of the example's database. */
  url: string
  /** Schema of tenantry's bundled tables: pass it to `createTenantry({ schema })`. */
  schema: string
  /** Schema of the example's own tables (`public` in a fresh database). */
  hostSchema: string
  /** Where the server came from. */
  source: TestDatabaseSource
  /** One line for a person: where the example runs. */
  description: string
  /** Drops what the example made, ends the pool and stops a server started here. */
  close(): Promise<void>
}

/** SQLSTATE 42501: insufficient_privilege (here, no CREATEDB). */
const INSUFFICIENT_PRIVILEGE = '42501'

/**
 * Opens a place for an example to run in. `name` prefixes the database or schemas it creates.
 *
 * @example
 * const demo = await openDemoDatabase('tenantry_demo')
 * try { createTenantry({ pool: demo.pool, schema: demo.schema }) } finally { await demo.close() }
 */
export async function openDemoDatabase(name: string, url: string | undefined = process.env.DATABASE_URL): Promise<DemoDatabase> {
  const server = await startTestDatabase({ url, preferEmbedded: true })
  const suffix = randomBytes(4).toString('hex')
  const where = server.source === 'url' ? `DATABASE_URL (${new URL(server.url).host})` : 'an embedded PostgreSQL'
  try {
    const database = `${name}_${suffix}`
    const databaseUrl = await server.cloneDatabase({ name: database })
    const pool = quietPool(databaseUrl)
    return {
      pool,
      url: databaseUrl,
      schema: 'tenantry',
      hostSchema: 'public',
      source: server.source,
      description: `${where}, in a new database "${database}"`,
      async close() {
        await pool.end()
        try {
          // An embedded server goes away with its data directory; only a server we were given keeps the database.
          if (server.source === 'url') await server.dropDatabase(database)
        } finally {
          await server.stop()
        }
      },
    }
  } catch (error) {
    if (server.source !== 'url' || (error as { code?: unknown }).code !== INSUFFICIENT_PRIVILEGE) {
      await server.stop()
      throw error
    }
  }
  // No CREATEDB: stay in the given database, in schemas nobody else uses.
  const schema = `tenantry_${name}_${suffix}`.slice(0, 63)
  const hostSchema = `${name}_app_${suffix}`.slice(0, 63)
  const pool = quietPool(server.url)
  await pool.query(`create schema ${pg.escapeIdentifier(hostSchema)}`)
  return {
    pool,
    url: server.url,
    schema,
    hostSchema,
    source: server.source,
    description: `${where}, in new schemas "${schema}" and "${hostSchema}" (no CREATEDB)`,
    async close() {
      try {
        // The host schema first: its foreign keys point into the bundled one.
        await pool.query(`drop schema if exists ${pg.escapeIdentifier(hostSchema)} cascade`)
        await pool.query(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`)
      } finally {
        await pool.end()
        await server.stop()
      }
    },
  }
}

/**
 * A pool that ignores connections dropped under it: `DROP DATABASE ... WITH (FORCE)` and a server
 * stop terminate sockets that `pool.end()` has already let go of. Errors of queries still reject them.
 */
function quietPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 5 })
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}
