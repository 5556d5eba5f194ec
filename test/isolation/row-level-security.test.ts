import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { createAppRole, type AppRole } from './support/app-role.js'

const fileDb = await useFileDatabase()
let owner: Tenantry<AppDB>
let app: Tenantry<AppDB>
let role: AppRole
let tenantA: string
let tenantB: string

/** A raw client of the application role, with no tenantry context at all. */
async function rawAsApp<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const { rows } = await role.pool.query(text, values)
  return rows as T[]
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'rls-a')
  tenantB = await insertTenant(fileDb.db, 'rls-b')
  await fileDb.db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A one' },
      { tenant_id: tenantB, name: 'B one' },
    ])
    .execute()
  owner = makeTenantry(fileDb.pool, { isolation: 'rls' })
  role = await createAppRole(fileDb, { poolSize: 1 })
})

afterAll(async () => {
  vi.restoreAllMocks()
})

describe('startup check of the isolation mode', () => {
  it("refuses isolation 'rls' while row-level security is off, and says what to run", async () => {
    const error = await owner
      .withContext({ tenantId: tenantA })
      .repo('projects')
      .count()
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'CONFIGURATION')).toBe(true)
    expect((error as Error).message).toContain('npx tenantry rls enable --table public.projects --table public.devices --table public.notes')
    expect((error as Error).message).toContain('await tenantry.rls.enable()')
    expect((await owner.rls.status()).state).toBe('disabled')
  })

  it('enables and forces row-level security on the bundled and declared tables', async () => {
    const status = await owner.rls.enable()
    expect(status.state).toBe('enabled')
    const projects = status.tables.find((t) => t.table === 'public.projects')!
    expect(projects).toMatchObject({ enabled: true, forced: true, policies: ['tenantry_tenant_isolation'] })
    const roles = status.tables.find((t) => t.table === 'tenantry.roles')!
    expect(roles.policies).toEqual(['tenantry_system_roles_read', 'tenantry_tenant_isolation'])
    expect(status.roleBypassesRls).toBe(true)
    // The same check, now satisfied: the superuser owner is warned that RLS does not bind it.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(await owner.withContext({ tenantId: tenantA }).repo('projects').count()).toBe(1)
    expect(warn.mock.calls.flat().join(' ')).toContain('superuser or has BYPASSRLS')
    warn.mockRestore()
    app = makeTenantry(role.pool, { isolation: 'rls' })
    await app.ready()
  })

  it("refuses query mode with CONFIGURATION while tenantry's policies apply to the connected role", async () => {
    const queryMode = makeTenantry(role.pool, { isolation: 'query' })
    const error = await queryMode.ready().catch((e: unknown) => e)
    expect(isTenantryError(error, 'CONFIGURATION')).toBe(true)
    expect((error as Error).message).toContain('npx tenantry rls disable')
  })
})

describe('as a non-owner role with row-level security forced', () => {
  it('sees no rows and cannot insert without a context', async () => {
    expect(await rawAsApp('select * from projects')).toEqual([])
    expect(await rawAsApp('select * from tenantry.tenants')).toEqual([])
    expect(await rawAsApp('select * from tenantry.audit_logs')).toEqual([])
    await expect(rawAsApp('insert into projects (tenant_id, name) values ($1, $2)', [tenantA, 'planted'])).rejects.toMatchObject({ code: '42501' })
    const planted = await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'planted').execute()
    expect(planted).toEqual([])
  })

  it('shows a raw query that forgets its tenant filter only the rows of the context tenant', async () => {
    const rows = await rawAsApp<{ name: string }>(
      "select name from (select set_config('tenantry.tenant_id', $1, false)) s, lateral (select name from projects) p",
      [tenantA],
    )
    // The raw, filterless query of tenant A's request still sees only tenant A.
    expect(rows.map((r) => r.name)).toEqual(['A one'])
    await rawAsApp("select set_config('tenantry.tenant_id', '', false)")
  })

  it('works through the repository inside a context, each tenant on its own rows', async () => {
    const a = app.withContext({ tenantId: tenantA }).repo('projects')
    const created = await a.create({ name: 'A two' })
    expect(created.tenant_id).toBe(tenantA)
    expect((await a.findMany()).map((r) => r.name).sort()).toEqual(['A one', 'A two'])
    await a.update(created.id, { name: 'A two!' })
    await a.softDelete(created.id)
    await a.restore(created.id)
    const b = app.withContext({ tenantId: tenantB }).repo('projects')
    expect(await b.findById(created.id)).toBeNull()
    await expect(b.update(created.id, { name: 'hijacked' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const row = await fileDb.db.selectFrom('projects').select(['name', 'tenant_id']).where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(row).toEqual({ name: 'A two!', tenant_id: tenantA })
    const audit = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['action', 'outcome'])
      .where('resource_id', '=', created.id)
      .orderBy('created_at')
      .execute()
    expect(audit.map((r) => `${r.action}:${r.outcome}`)).toContain('projects.update:denied')
  })

  it('works through scope.db and scope.transaction inside a context', async () => {
    const scope = app.withContext({ tenantId: tenantB })
    await scope.db
      .insertInto('notes')
      .values({ body: 'B note' } as never)
      .execute()
    expect((await scope.db.selectFrom('notes').select('body').execute()).map((r) => r.body)).toEqual(['B note'])
    await scope.transaction(async (tx) => {
      await tx.repo('notes').create({ body: 'B note 2' })
      expect(await tx.db.selectFrom('notes').select('body').orderBy('body').execute()).toEqual([{ body: 'B note' }, { body: 'B note 2' }])
    })
    expect(await app.withContext({ tenantId: tenantA }).db.selectFrom('notes').selectAll().execute()).toEqual([])
  })

  it('lets the database refuse what a raw query through scopedDb({ allowRawSql }) tries', async () => {
    const scoped = app.withContext({ tenantId: tenantA }).scopedDb({ allowRawSql: true })
    const { rows } = await sql<{ name: string }>`select name from projects order by name`.execute(scoped)
    expect(rows.map((r) => r.name)).not.toContain('B one')
    await expect(sql`insert into projects (tenant_id, name) values (${tenantB}::uuid, 'planted')`.execute(scoped)).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })

  it('shows users through a live membership only, and system roles to every tenant', async () => {
    const system = app.asSystem({ reason: 'seed' })
    const user = await system.users.create({ email: 'rls-user@example.com' })
    await system.memberships.create({ tenant_id: tenantA, user_id: user.id })
    await system.roles.create({ tenant_id: null, name: 'rls-system-role', permissions: ['projects:read'] } as never)
    expect((await app.withContext({ tenantId: tenantA }).users.findMany()).map((u) => u.email)).toEqual(['rls-user@example.com'])
    expect(await app.withContext({ tenantId: tenantB }).users.findMany()).toEqual([])
    const bRoles = await sql<{ name: string }>`select name from tenantry.roles where tenant_id is null`.execute(
      app.withContext({ tenantId: tenantB }).scopedDb({ allowRawSql: true }),
    )
    expect(bRoles.rows.map((r) => r.name)).toEqual(['rls-system-role'])
    await expect(
      sql`insert into tenantry.roles (tenant_id, name) values (null, 'sneaky')`.execute(app.withContext({ tenantId: tenantB }).scopedDb({ allowRawSql: true })),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })

  it('lets an asSystem scope see every tenant', async () => {
    const names = (
      await app
        .asSystem({ reason: 'report' })
        .repo('projects')
        .findMany({ orderBy: ['name', 'asc'] })
    ).map((r) => r.name)
    expect(names).toEqual(expect.arrayContaining(['A one', 'B one']))
  })

  it('leaks nothing when tenants take turns on the same pooled connection', async () => {
    // The pool has one connection: every request below runs on it.
    for (let i = 0; i < 5; i++) {
      const tenant = i % 2 === 0 ? tenantA : tenantB
      const rows = await app.withContext({ tenantId: tenant }).repo('projects').findMany()
      expect(rows.every((r) => r.tenant_id === tenant)).toBe(true)
      await app.asSystem({ reason: 'interleaved' }).repo('projects').count()
    }
    const [after] = await rawAsApp<{ tenant: string | null; system: string | null }>(
      "select current_setting('tenantry.tenant_id', true) as tenant, current_setting('tenantry.system', true) as system",
    )
    expect(after!.tenant ?? '').toBe('')
    expect(after!.system ?? '').toBe('')
    expect(await rawAsApp('select * from projects')).toEqual([])
  })

  it('prunes audit rows of the scope tenant only', async () => {
    const before = await fileDb.db.selectFrom('tenantry.audit_logs').select(['tenant_id']).execute()
    const ofB = before.filter((r) => r.tenant_id === tenantB).length
    expect(ofB).toBeGreaterThan(0)
    const deleted = await app.withContext({ tenantId: tenantA }).auditLog.prune({ olderThan: new Date(Date.now() + 60_000) })
    expect(deleted).toBe(before.filter((r) => r.tenant_id === tenantA).length)
    const after = await fileDb.db.selectFrom('tenantry.audit_logs').select(['tenant_id']).execute()
    expect(after.filter((r) => r.tenant_id === tenantB).length).toBe(ofB)
    expect(after.filter((r) => r.tenant_id === tenantA).length).toBe(0)
  })
})

describe('round trips under row-level security', () => {
  it('costs BEGIN-with-context and COMMIT around each operation, and nothing extra per transaction', async () => {
    const repo = app.withContext({ tenantId: tenantA, actorId: '00000000-0000-4000-8000-000000000001' }).repo('projects')
    const seed = await repo.create({ name: 'rt' })
    const trips = {
      findById: await role.roundTrips.measure(() => repo.findById(seed.id)),
      findMany: await role.roundTrips.measure(() => repo.findMany({ limit: 10 })),
      count: await role.roundTrips.measure(() => repo.count()),
      create: await role.roundTrips.measure(() => repo.create({ name: 'rt-2' })),
      update: await role.roundTrips.measure(() => repo.update(seed.id, { name: 'rt-1' })),
      softDelete: await role.roundTrips.measure(() => repo.softDelete(seed.id)),
      'scope.db select': await role.roundTrips.measure(() => app.withContext({ tenantId: tenantA }).db.selectFrom('projects').selectAll().execute()),
    }
    expect(trips).toEqual({ findById: 3, findMany: 3, count: 3, create: 3, update: 3, softDelete: 3, 'scope.db select': 3 })
    // A denied write: its statement (3), then its `denied` audit row in a transaction of its own (3).
    const other = app.withContext({ tenantId: tenantB }).repo('projects')
    expect(await role.roundTrips.measure(() => other.update(seed.id, { name: 'x' }).catch(() => {}))).toBe(6)
    const scope = app.withContext({ tenantId: tenantA })
    const inTransaction = await role.roundTrips.measure(() =>
      scope.transaction(async (tx) => {
        const row = await tx.repo('projects').create({ name: 'tx-1' })
        await tx.repo('projects').update(row.id, { name: 'tx-2' })
        await tx.db.selectFrom('projects').select('id').execute()
      }),
    )
    // BEGIN+context, three statements, COMMIT: the same as query mode's BEGIN, statements, COMMIT.
    expect(inTransaction).toBe(5)
  })
})

describe('disable', () => {
  it('turns row-level security off and keeps the policies', async () => {
    const status = await owner.rls.disable()
    expect(status.state).toBe('disabled')
    expect(status.tables.find((t) => t.table === 'public.projects')!.policies).toEqual(['tenantry_tenant_isolation'])
    await owner.rls.enable()
  })
})
