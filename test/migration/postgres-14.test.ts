import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mapDatabaseError } from '../../src/errors/map-database-error.js'
import { bundledMigrations, migrate } from '../../src/migration/migrate.js'
import { freePort } from '../../src/testing/free-port.js'
import { loadEmbeddedPostgres14, type EmbeddedPostgresClass } from './support/postgres-14.js'

// The oldest PostgreSQL DESIGN.md supports. The rest of the suite runs on the harness's 18.

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return mapDatabaseError(error)
  }
  throw new Error('expected the database to refuse the statement')
}

let server: InstanceType<EmbeddedPostgresClass>
let dataDir: string
let pool: pg.Pool
let db: Kysely<any>

beforeAll(async () => {
  const EmbeddedPostgres = await loadEmbeddedPostgres14()
  dataDir = await mkdtemp(join(tmpdir(), 'tenantry-pg14-'))
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()
  pool = new pg.Pool({ connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, max: 4 })
  pool.on('error', () => {})
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
}, 360_000)

afterAll(async () => {
  await db?.destroy()
  await server?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('PostgreSQL 14', () => {
  it('is really version 14', async () => {
    const { rows } = await sql<{ v: string }>`select current_setting('server_version_num') as v`.execute(db)
    expect(Number(rows[0]!.v)).toBeGreaterThanOrEqual(140000)
    expect(Number(rows[0]!.v)).toBeLessThan(150000)
  })

  it('migrates up, all the way down, and up again', async () => {
    const names = (await bundledMigrations()).map((m) => m.name)
    const up = await migrate({ pool })
    expect(up.error).toBeUndefined()
    expect(up.results.map((r) => r.migrationName)).toEqual(names)
    expect((await migrate({ pool })).results).toEqual([])
    const down = await migrate({ pool, direction: 'down', all: true })
    expect(down.error).toBeUndefined()
    expect(down.results.map((r) => r.migrationName)).toEqual([...names].reverse())
    const again = await migrate({ pool })
    expect(again.error).toBeUndefined()
    expect(again.results).toHaveLength(names.length)
  })

  it('enforces checks, partial unique keys with reuse after soft delete, and append-only audit_logs', async () => {
    expect(await rejection(() => db.insertInto('tenantry.users').values({ email: 'nope' }).execute())).toMatchObject({
      code: 'CHECK_VIOLATION',
      constraint: 'users_email_format',
    })
    const tenant = await db.insertInto('tenantry.tenants').values({ slug: 'acme', name: 'Acme' }).returning('id').executeTakeFirstOrThrow()
    const other = await db.insertInto('tenantry.tenants').values({ slug: 'globex', name: 'Globex' }).returning('id').executeTakeFirstOrThrow()
    const user = await db.insertInto('tenantry.users').values({ email: 'ada@example.com' }).returning('id').executeTakeFirstOrThrow()
    await db.insertInto('tenantry.roles').values({ tenant_id: null, name: 'Owner' }).execute()
    expect(await rejection(() => db.insertInto('tenantry.roles').values({ tenant_id: null, name: 'owner' }).execute())).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      constraint: 'roles_tenant_name_live_key',
    })
    await db.insertInto('tenantry.roles').values({ tenant_id: other.id, name: 'owner' }).execute()
    await db.insertInto('tenantry.memberships').values({ tenant_id: tenant.id, user_id: user.id }).execute()
    await db.updateTable('tenantry.memberships').set({ deleted_at: sql`now()` }).execute()
    await db.insertInto('tenantry.memberships').values({ tenant_id: tenant.id, user_id: user.id }).execute()
    await db.insertInto('tenantry.audit_logs').values({ tenant_id: tenant.id, action: 'tenants.create' }).execute()
    expect(await rejection(() => db.deleteFrom('tenantry.audit_logs').execute())).toMatchObject({ code: 'FORBIDDEN' })
  })
})
