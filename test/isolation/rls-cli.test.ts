import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { runRlsCommand } from '../../src/cli/commands/rls.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { migrate } from '../../src/migration/migrate.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, makeTenantry } from '../support/host-schema.js'
import { createAppRole, type AppRole } from './support/app-role.js'

const fileDb = await useFileDatabase()
let role: AppRole

function run(argv: string[], url: string | undefined = fileDb.url) {
  const out: string[] = []
  const err: string[] = []
  const io = { env: { DATABASE_URL: url }, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) }
  return runRlsCommand(argv, io).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }))
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  role = await createAppRole(fileDb)
})

describe('npx tenantry rls', () => {
  it('reports disabled with exit code 3 before enable', async () => {
    const { code, out } = await run(['status', '--table', 'public.projects'])
    expect(code).toBe(EXIT.notEnabled)
    expect(out).toContain('row-level security: disabled')
  })

  it('enables the bundled and named tables, then status exits 0', async () => {
    const enabled = await run(['enable', '--table', 'public.projects', '--table=notes'])
    expect(enabled.code).toBe(EXIT.ok)
    expect(enabled.out).toMatch(/public\.projects\s+yes\s+yes\s+tenantry_tenant_isolation/)
    const flags = await fileDb.db
      .selectFrom('pg_class')
      .select(['relname', 'relrowsecurity', 'relforcerowsecurity'])
      .where('relname', 'in', ['projects', 'notes', 'tenants', 'memberships'])
      .orderBy('relname')
      .execute()
    expect(flags.every((f) => f.relrowsecurity && f.relforcerowsecurity)).toBe(true)
    expect((await run(['status', '--table', 'public.projects', '--table', 'public.notes'])).code).toBe(EXIT.ok)
  })

  it('refuses a non-owner with a message that says whom to run it as', async () => {
    const { code, err } = await run(['disable'], role.url)
    expect(code).toBe(EXIT.failed)
    expect(err).toContain('run it as the owner of the tables')
  })

  it('disables again', async () => {
    const { code, out } = await run(['disable', '--table', 'public.projects', '--table', 'public.notes'])
    expect(code).toBe(EXIT.ok)
    expect(out).toContain('row-level security: disabled')
  })

  it('explains usage errors with exit code 2', async () => {
    expect((await run(['switch'])).code).toBe(EXIT.usage)
    expect((await run(['enable', '--table'])).err).toContain('--table needs a value')
    expect((await run(['enable', '--table', 'Bad-Name'])).err).toContain('--table expects schema.table')
    expect((await run(['status'], '')).err).toContain('set DATABASE_URL')
    expect((await run(['enable', '--table', 'public.nope'])).err).toContain('no such table public.nope')
  })
})

describe('npx tenantry rls without --table', () => {
  const flagsOf = async (tables: string[]) =>
    fileDb.db
      .selectFrom('pg_class')
      .select(['relname', 'relrowsecurity', 'relforcerowsecurity'])
      .where('relnamespace', '=', sql<number>`'public'::regnamespace`)
      .where('relname', 'in', tables)
      .orderBy('relname')
      .execute()

  it("lists every table that carries tenantry's policies, host tables enabled from code included", async () => {
    // enabled from code: the declared tables (projects, devices, notes), no --table anywhere
    await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
    const { code, out } = await run(['status'])
    expect(code).toBe(EXIT.ok)
    for (const table of ['public.devices', 'public.notes', 'public.projects']) {
      expect(out).toMatch(new RegExp(`${table.replace('.', '\\.')}\\s+yes\\s+yes\\s+tenantry_tenant_isolation`))
    }
    expect(out).toContain('tenantry.sessions')
    expect(out).toContain('row-level security: enabled')
  })

  it('disables them all, so that query mode works again, and enables them all again', async () => {
    const disabled = await run(['disable'])
    expect(disabled.code).toBe(EXIT.ok)
    expect(disabled.out).toContain('row-level security: disabled')
    expect((await flagsOf(['devices', 'notes', 'projects'])).map((f) => [f.relname, f.relrowsecurity, f.relforcerowsecurity])).toEqual([
      ['devices', false, false],
      ['notes', false, false],
      ['projects', false, false],
    ])
    // the policies stay, inert: status still lists the tables, and exits 3
    const status = await run(['status'])
    expect(status.code).toBe(EXIT.notEnabled)
    expect(status.out).toMatch(/public\.projects\s+no\s+no\s+tenantry_tenant_isolation/)

    expect((await run(['enable'])).code).toBe(EXIT.ok)
    expect((await flagsOf(['devices', 'notes', 'projects'])).every((f) => f.relrowsecurity && f.relforcerowsecurity)).toBe(true)
    expect((await run(['disable'])).code).toBe(EXIT.ok)
  })

  it('leaves out tables whose policies belong to a tenantry installed in another schema', async () => {
    expect((await migrate({ pool: fileDb.pool, schema: 'auth' })).error).toBeUndefined()
    await sql`create table public.other_app (id int primary key, tenant_id uuid not null)`.execute(fileDb.db)
    await sql`select auth.install_tenant_policy('public.other_app')`.execute(fileDb.db)
    expect((await run(['status'])).out).not.toContain('public.other_app')
    expect((await run(['status', '--schema', 'auth'])).out).toMatch(/public\.other_app\s+no\s+no\s+tenantry_tenant_isolation/)
    expect((await run(['status', '--schema', 'auth'])).out).not.toContain('public.projects')
  })
})
