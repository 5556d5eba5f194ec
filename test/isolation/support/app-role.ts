import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type pg from 'pg'
import { afterAll } from 'vitest'
import { countingPool, type RoundTripCounter } from '../../support/counting-pool.js'
import type { FileDatabase } from '../../support/test-database.js'

export interface AppRole {
  name: string
  password: string
  /** The file database's URL, logged in as this role. */
  url: string
  /** A pool as this role; `roundTrips` counts its queries. */
  pool: pg.Pool
  roundTrips: RoundTripCounter
}

/**
 * Creates an ordinary login role (not the owner of any table, not a superuser, no BYPASSRLS), as
 * docs/isolation.md tells users to, with DML rights on the bundled and host tables; dropped after
 * the file.
 */
export async function createAppRole(fileDb: FileDatabase, options: { poolSize?: number; pipeline?: boolean } = {}): Promise<AppRole> {
  const name = `tenantry_app_${randomBytes(4).toString('hex')}`
  const password = randomBytes(12).toString('hex')
  await grantAppRole(fileDb.db, name, password)
  const url = new URL(fileDb.url)
  url.username = name
  url.password = password
  const roundTrips = countingPool(url.toString(), options.poolSize ?? 4, { pipeline: options.pipeline === true })
  const pool = roundTrips.pool
  afterAll(async () => {
    await pool.end()
    await sql`drop owned by ${sql.id(name)}`.execute(fileDb.db)
    await sql`drop role if exists ${sql.id(name)}`.execute(fileDb.db)
  })
  return {
    name,
    password,
    url: url.toString(),
    pool,
    roundTrips,
  }
}

/** The grants of docs/isolation.md: usage on the schemas, DML on the tables, sequences for serials. */
export async function grantAppRole(db: Kysely<any>, name: string, password: string): Promise<void> {
  const role = sql.id(name)
  await sql`create role ${role} login password ${sql.lit(password)} nosuperuser nobypassrls`.execute(db)
  for (const schema of ['tenantry', 'public']) {
    await sql`grant usage on schema ${sql.id(schema)} to ${role}`.execute(db)
    await sql`grant select, insert, update, delete on all tables in schema ${sql.id(schema)} to ${role}`.execute(db)
    await sql`grant usage on all sequences in schema ${sql.id(schema)} to ${role}`.execute(db)
  }
}
