import { sql } from 'kysely'
import { Migrator, type Migration } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledMigrations, migrate, migrationStatus } from '../../src/migration/migrate.js'
import { planMigrations } from '../../src/migration/migration-plan.js'
import { createFreshDatabase, tablesOf, type FreshDatabase } from './support/fresh-database.js'

const BUNDLED_TABLES = ['audit_logs', 'invitations', 'memberships', 'refresh_tokens', 'roles', 'sessions', 'tenants', 'user_roles', 'users']
const BOOKKEEPING = ['tenantry_migration', 'tenantry_migration_lock']

let names: string[]
let fresh: FreshDatabase
beforeAll(async () => {
  names = (await bundledMigrations()).map((m) => m.name)
  fresh = await createFreshDatabase()
})
afterAll(() => fresh.drop())

describe('a fresh database', () => {
  it('plans every migration in a dry run and creates nothing', async () => {
    const plan = await planMigrations({ pool: fresh.newPool() })
    expect(plan.map((p) => [p.name, p.direction])).toEqual(names.map((n) => [n, 'up']))
    expect(plan[0]!.sql).toContain('create table "tenantry".tenants')
    expect(plan.every((p) => !p.sql.includes('{{schema}}'))).toBe(true)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = 'tenantry'`.execute(fresh.db)
    expect(rows[0]!.n).toBe(0)
  })

  it('migrates to the latest version with its own bookkeeping tables, never kysely_migration', async () => {
    const started = performance.now()
    const { error, results } = await migrate({ pool: fresh.newPool() })
    const ms = performance.now() - started
    expect(error).toBeUndefined()
    expect(results.map((r) => [r.migrationName, r.status])).toEqual(names.map((n) => [n, 'Success']))
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual([...BUNDLED_TABLES, ...BOOKKEEPING].sort())
    expect(await tablesOf(fresh.db, 'public')).toEqual([])
    console.info(`fresh migration of ${names.length} migrations: ${ms.toFixed(0)} ms`)
  })

  it('applies nothing the second time', async () => {
    const { error, results } = await migrate({ pool: fresh.newPool() })
    expect(error).toBeUndefined()
    expect(results).toEqual([])
    const status = await migrationStatus({ pool: fresh.newPool() })
    expect(status.map((s) => s.name)).toEqual(names)
    expect(status.every((s) => s.appliedAt instanceof Date)).toBe(true)
  })

  it('undoes the last migration, then all of them, and migrates up again', async () => {
    const pool = fresh.newPool()
    const last = names.at(-1)!
    expect(await planMigrations({ pool, direction: 'down' })).toEqual([expect.objectContaining({ name: last, direction: 'down' })])
    const down = await migrate({ pool, direction: 'down' })
    expect(down.error).toBeUndefined()
    expect(down.results.map((r) => [r.migrationName, r.direction, r.status])).toEqual([[last, 'Down', 'Success']])
    expect((await migrationStatus({ pool })).filter((s) => s.appliedAt === null).map((s) => s.name)).toEqual([last])

    const all = await migrate({ pool, direction: 'down', all: true })
    expect(all.error).toBeUndefined()
    expect(all.results.map((r) => r.migrationName)).toEqual(names.slice(0, -1).reverse())
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual(BOOKKEEPING)
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_proc where pronamespace = 'tenantry'::regnamespace`.execute(fresh.db)
    expect(rows[0]!.n).toBe(0)

    const up = await migrate({ pool })
    expect(up.error).toBeUndefined()
    expect(up.results).toHaveLength(names.length)
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual([...BUNDLED_TABLES, ...BOOKKEEPING].sort())
  })

  it('goes all the way down even when a host table uses the updated_at trigger', async () => {
    const pool = fresh.newPool()
    await sql`create table public.notes (id int primary key, updated_at timestamptz not null default now())`.execute(fresh.db)
    await sql`select tenantry.install_updated_at_trigger('public.notes')`.execute(fresh.db)
    const down = await migrate({ pool, direction: 'down', all: true })
    expect(down.error).toBeUndefined()
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_trigger where tgrelid = 'public.notes'::regclass and not tgisinternal`.execute(fresh.db)
    expect(rows[0]!.n).toBe(0)
    expect((await migrate({ pool })).error).toBeUndefined()
    await sql`drop table public.notes`.execute(fresh.db)
  })
})

describe('concurrent migrators', () => {
  it('both succeed on a fresh database and each migration is applied once', async () => {
    const other = await createFreshDatabase()
    try {
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => migrate({ pool: other.newPool(2) })))
      for (const run of [a, b, c]) expect(run!.error).toBeUndefined()
      const applied = [a, b, c].flatMap((run) => run!.results.filter((r) => r.status === 'Success').map((r) => r.migrationName))
      expect(applied.sort()).toEqual(names)
      const { rows } = await sql<{ name: string }>`select name from tenantry.tenantry_migration order by name`.execute(other.db)
      expect(rows.map((r) => r.name)).toEqual(names)
    } finally {
      await other.drop()
    }
  })
})

describe("schema option and the host's own migrations", () => {
  it('installs into another schema alongside the default one', async () => {
    const pool = fresh.newPool()
    const { error } = await migrate({ pool, schema: 'auth' })
    expect(error).toBeUndefined()
    expect(await tablesOf(fresh.db, 'auth')).toEqual([...BUNDLED_TABLES, ...BOOKKEEPING].sort())
    await sql`insert into auth.tenants (slug, name) values ('acme', 'Acme')`.execute(fresh.db)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.tenants where slug = 'acme'`.execute(fresh.db)
    expect(rows[0]!.n).toBe(0)
    expect((await migrate({ pool, schema: 'auth', direction: 'down', all: true })).error).toBeUndefined()
    expect(await tablesOf(fresh.db, 'auth')).toEqual(BOOKKEEPING)
  })

  it('refuses a schema name that is not a plain identifier before sending any SQL', async () => {
    await expect(migrate({ pool: fresh.newPool(), schema: `x'; drop table users; --` })).rejects.toMatchObject({ code: 'CONFIGURATION' })
  })

  it('runs inside a host Kysely migration given its transaction, each side keeping its own table', async () => {
    const other = await createFreshDatabase()
    try {
      const hostMigrations: Record<string, Migration> = {
        '2024_01_projects': {
          async up(trx) {
            const { error } = await migrate({ db: trx })
            if (error) throw error
            await sql`create table public.projects (id uuid primary key default gen_random_uuid(),
                        tenant_id uuid not null references tenantry.tenants (id), name text not null)`.execute(trx)
          },
        },
      }
      const host = new Migrator({ db: other.db, provider: { getMigrations: async () => hostMigrations } })
      const { error } = await host.migrateToLatest()
      expect(error).toBeUndefined()
      expect(await tablesOf(other.db, 'public')).toEqual(['kysely_migration', 'kysely_migration_lock', 'projects'])
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.tenantry_migration`.execute(other.db)
      expect(rows[0]!.n).toBe(names.length)
      // and a later standalone run finds nothing to do
      expect((await migrate({ pool: other.newPool() })).results).toEqual([])
    } finally {
      await other.drop()
    }
  })
})
