import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { inject } from 'vitest'
import { cloneTestDatabase } from '../../../src/testing/clone-test-database.js'

export interface FreshDatabase {
  url: string
  name: string
  /** Opens another pool on the database (a second "process"); closed by `drop()`. */
  newPool(max?: number): pg.Pool
  /** Kysely on its own pool, for assertions. */
  db: Kysely<any>
  drop(): Promise<void>
}

/** An empty database (never migrated) on the test server, unlike the migrated per-file clone. */
export async function createFreshDatabase(): Promise<FreshDatabase> {
  const clone = await cloneTestDatabase({
    serverUrl: inject('testServerUrl'),
    name: `tenantry_fresh_${randomBytes(5).toString('hex')}`,
  })
  const { url, name } = clone
  const pools: pg.Pool[] = []
  const newPool = (max = 4) => {
    const pool = new pg.Pool({ connectionString: url, max })
    pool.on('error', () => {})
    pools.push(pool)
    return pool
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: newPool() }) })
  return {
    url,
    name,
    newPool,
    db,
    async drop() {
      await Promise.all(pools.map((p) => p.end().catch(() => {})))
      await clone.drop()
    },
  }
}

/** Tables of a schema, sorted. */
export async function tablesOf(db: Kysely<any>, schema: string): Promise<string[]> {
  const rows = await db.selectFrom('information_schema.tables').select('table_name').where('table_schema', '=', schema).orderBy('table_name').execute()
  return rows.map((r) => r.table_name as string)
}
