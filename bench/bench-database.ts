import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createTenantry, type Tenantry } from '../src/index.js'
import { startTestDatabase, withDatabase, type TestDatabase } from '../src/testing/index.js'
import { benchTables } from './bench-tables.js'
import { createHostTable, seedActors, seedHostData, seedVictims, type BenchDB, type SeedSizes } from './host-fixture.js'
import type { OpContext } from './ops/op-context.js'
import { countingPool, type CountingPool } from '../test/support/counting-pool.js'

/** The server: `DATABASE_URL` when set, else embedded PostgreSQL; a migrated template with the host table. */
export function startBenchServer(): Promise<TestDatabase> {
  return startTestDatabase({
    url: process.env.DATABASE_URL,
    preferEmbedded: true,
    migrate: true,
    prepareTemplate: async ({ url }) => {
      const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
      try {
        await createHostTable(db)
      } finally {
        await db.destroy()
      }
    },
  })
}

export interface BenchDatabase {
  label: string
  /** Connection string of the role the benchmark connects as (the app role under RLS). */
  url: string
  counter: CountingPool
  ctx: OpContext
  close(): Promise<void>
}

export interface PrepareOptions {
  label: string
  sizes: SeedSizes
  isolation: 'query' | 'rls'
  /** Rows each implementation may soft-delete. */
  victimsPerImplementation: number
  /** The pool pipelines (`new pg.Pool({ pipeline: true })`). */
  pipeline?: boolean
}

/** Login role of the RLS database: an ordinary role, because superusers bypass row-level security. */
const APP_ROLE = 'tenantry_bench_app'

/**
 * A database of its own per mode (query, RLS, scale), cloned from the template and seeded, so a
 * mode's writes and settings never touch another's figures.
 */
export async function prepareDatabase(server: TestDatabase, options: PrepareOptions): Promise<BenchDatabase> {
  const name = `tenantry_bench_${options.label}_${randomBytes(4).toString('hex')}`
  const ownerUrl = await server.cloneDatabase({ name })
  const owner = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: ownerUrl, max: 2 }) }) })
  let appUrl = ownerUrl
  let ctx: OpContext
  let counter: CountingPool
  try {
    const tenantIds = await seedHostData(owner, options.sizes)
    const tenantId = tenantIds[0]!
    const actors = await seedActors(owner, tenantId, 3)
    const victims = {
      tenantry: await seedVictims(owner, tenantId, options.victimsPerImplementation),
      kysely: await seedVictims(owner, tenantId, options.victimsPerImplementation),
      raw: await seedVictims(owner, tenantId, options.victimsPerImplementation),
    }
    const rows = await owner.selectFrom('projects').select('id').where('tenant_id', '=', tenantId).where('batch', '>=', 0).orderBy('id').execute()
    if (options.isolation === 'rls') {
      appUrl = await appRoleUrl(owner, server.url, name)
      await tenantryOver(owner, 'query').rls.enable()
    }
    counter = countingPool(appUrl, 4, { pipeline: options.pipeline === true })
    const tenantry = tenantryOver(counter.pool, options.isolation)
    await tenantry.ready()
    ctx = {
      tenantry,
      kysely: new Kysely<any>({ dialect: new PostgresDialect({ pool: counter.pool }) }),
      pool: counter.pool,
      tenantId,
      actors,
      ids: rows.map((r) => r.id as string),
      victims,
      batchSize: Math.floor(options.sizes.rowsPerTenant / 10),
    }
  } finally {
    await owner.destroy()
  }
  return {
    label: options.label,
    url: appUrl,
    counter,
    ctx,
    async close() {
      await counter.pool.end()
      await server.dropDatabase(name)
    },
  }
}

const TOKEN_KEY = randomBytes(32).toString('hex')

export function tenantryOver(source: pg.Pool | Kysely<any>, isolation: 'query' | 'rls'): Tenantry<BenchDB> {
  const base = source instanceof pg.Pool ? { pool: source } : { db: source as Kysely<BenchDB> }
  // `tokens` is passed through untyped: it only exists once tenantry.tokens is wired in.
  return createTenantry<BenchDB>({ ...base, tables: benchTables, isolation, ...({ tokens: { keys: { k1: TOKEN_KEY } } } as object) })
}

/** Creates (once per server) the ordinary login role the RLS database is used through, with table rights. */
async function appRoleUrl(owner: Kysely<any>, serverUrl: string, database: string): Promise<string> {
  const password = randomBytes(12).toString('hex')
  await sql`do $$ begin
      if not exists (select 1 from pg_roles where rolname = ${sql.lit(APP_ROLE)}) then
        create role ${sql.id(APP_ROLE)} login;
      end if;
    end $$`.execute(owner)
  await sql`alter role ${sql.id(APP_ROLE)} password ${sql.lit(password)}`.execute(owner)
  await sql`grant usage on schema tenantry, public to ${sql.id(APP_ROLE)};
    grant select, insert, update, delete on all tables in schema tenantry, public to ${sql.id(APP_ROLE)};
    grant usage on all sequences in schema tenantry, public to ${sql.id(APP_ROLE)};
    grant execute on all functions in schema tenantry to ${sql.id(APP_ROLE)}`.execute(owner)
  const url = new URL(withDatabase(serverUrl, database))
  url.username = APP_ROLE
  url.password = password
  return url.toString()
}
