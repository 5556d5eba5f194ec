import { sql } from 'kysely'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { runRlsCommand } from '../../src/cli/commands/rls.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { createTenantry, defineTable, isTenantryError } from '../../src/index.js'
import { createHostTables, insertTenant, makeTenantry } from '../support/host-schema.js'
import { useFileDatabase } from '../support/test-database.js'
import { createAppRole, type AppRole } from './support/app-role.js'

/**
 * The first-use check that the database agrees with the configured isolation mode, in both
 * directions, as the non-owner application role.
 */

const fileDb = await useFileDatabase()
let role: AppRole
let tenantA: string

/** A declared table with row-level security forced and a policy of the host's own, not tenantry's. */
const hostPoliced = { host_policed: defineTable<any, 'host_policed'>({ table: 'host_policed' }) }

function rlsCommand(argv: string[]): Promise<number> {
  return runRlsCommand(argv, { env: { DATABASE_URL: fileDb.url }, stdout: () => {}, stderr: () => {} })
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof Error)) throw new Error('expected the call to fail')
  return error
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'check-a')
  const tenantB = await insertTenant(fileDb.db, 'check-b')
  await fileDb.db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A one' },
      { tenant_id: tenantB, name: 'B one' },
    ])
    .execute()
  await sql`create table public.host_policed (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, created_at timestamptz not null default now())`.execute(
    fileDb.db,
  )
  role = await createAppRole(fileDb)
})

describe("isolation 'query' where tenantry's policies bind the connected role", () => {
  it('is a CONFIGURATION error on first use that names what to run, not a warning and no rows', async () => {
    await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const tenantry = makeTenantry(role.pool, { isolation: 'query' })
    const error = await failureOf(tenantry.withContext({ tenantId: tenantA }).repo('projects').findMany())
    expect(isTenantryError(error, 'CONFIGURATION')).toBe(true)
    expect(error.message).toContain('public.projects')
    expect(error.message).toContain('`npx tenantry rls disable`')
    expect(error.message).toContain("isolation: 'rls'")
    // every later use says the same until the database changes
    expect(isTenantryError(await failureOf(tenantry.ready()), 'CONFIGURATION')).toBe(true)
    expect(warn).not.toHaveBeenCalled()
    warn.mockRestore()

    // the command it names is enough: the next call of the same instance works
    expect(await rlsCommand(['disable'])).toBe(EXIT.ok)
    const rows = await tenantry.withContext({ tenantId: tenantA }).repo('projects').findMany()
    expect(rows.map((r) => r.name)).toEqual(['A one'])
  })

  it("passes for the owner in query mode once row-level security is off, and for isolation 'rls' with it on", async () => {
    await makeTenantry(fileDb.pool, { isolation: 'query' }).ready()
    await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
    const app = makeTenantry(role.pool, { isolation: 'rls' })
    expect((await app.withContext({ tenantId: tenantA }).repo('projects').findMany()).map((r) => r.name)).toEqual(['A one'])
    expect(await rlsCommand(['disable'])).toBe(EXIT.ok)
  })

  it("only warns when the policies binding the role are the host's own", async () => {
    await sql`alter table public.host_policed enable row level security`.execute(fileDb.db)
    await sql`alter table public.host_policed force row level security`.execute(fileDb.db)
    await sql`create policy host_own on public.host_policed using (true)`.execute(fileDb.db)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await createTenantry({ pool: role.pool, tables: hostPoliced, isolation: 'query' }).ready()
    expect(warn.mock.calls.flat().join(' ')).toContain("isolation 'query', but row-level security applies to the connected role on public.host_policed")
    warn.mockRestore()
  })
})

describe("isolation 'rls' on a database that does not carry it", () => {
  it('is a CONFIGURATION error while row-level security is off', async () => {
    const error = await failureOf(makeTenantry(role.pool, { isolation: 'rls' }).withContext({ tenantId: tenantA }).repo('projects').count())
    expect(isTenantryError(error, 'CONFIGURATION')).toBe(true)
    expect(error.message).toContain('npx tenantry rls enable --table public.projects')
  })

  it("is a CONFIGURATION error when a table is forced but tenantry's policy is missing, until rls enable installs it", async () => {
    const rlsMode = createTenantry({ pool: role.pool, tables: hostPoliced, isolation: 'rls' })
    await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
    const error = await failureOf(rlsMode.ready())
    expect(isTenantryError(error, 'CONFIGURATION')).toBe(true)
    expect(error.message).toContain('public.host_policed')
    expect(error.message).toContain('npx tenantry rls enable --table public.host_policed')
    await createTenantry({ pool: fileDb.pool, tables: hostPoliced, isolation: 'rls' }).rls.enable()
    await rlsMode.ready()
    const policies = await sql<{ polname: string }>`select polname from pg_policy where polrelid = 'public.host_policed'::regclass order by 1`.execute(
      fileDb.db,
    )
    expect(policies.rows.map((r) => r.polname)).toEqual(['host_own', 'tenantry_tenant_isolation'])
  })
})

describe('tenantry.rls.status()', () => {
  it('lists the tables enabled from code by another instance, with no table declared here', async () => {
    const status = await createTenantry({ pool: fileDb.pool }).rls.status()
    const names = status.tables.map((t) => t.table)
    expect(names).toEqual(expect.arrayContaining(['public.projects', 'public.devices', 'public.notes', 'public.host_policed']))
    expect(status.tables.find((t) => t.table === 'public.projects')).toMatchObject({
      kind: 'host',
      exists: true,
      enabled: true,
      forced: true,
      policies: ['tenantry_tenant_isolation'],
    })
    expect(status.state).toBe('enabled')
  })
})
