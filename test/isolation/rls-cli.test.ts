import { beforeAll, describe, expect, it } from 'vitest'
import { RLS_EXIT, runRlsCommand } from '../../src/cli/commands/rls.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables } from '../support/host-schema.js'
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
    expect(code).toBe(RLS_EXIT.notEnabled)
    expect(out).toContain('row-level security: disabled')
  })

  it('enables the bundled and named tables, then status exits 0', async () => {
    const enabled = await run(['enable', '--table', 'public.projects', '--table=notes'])
    expect(enabled.code).toBe(RLS_EXIT.ok)
    expect(enabled.out).toMatch(/public\.projects\s+yes\s+yes\s+tenantry_tenant_isolation/)
    const flags = await fileDb.db
      .selectFrom('pg_class')
      .select(['relname', 'relrowsecurity', 'relforcerowsecurity'])
      .where('relname', 'in', ['projects', 'notes', 'tenants', 'memberships'])
      .orderBy('relname')
      .execute()
    expect(flags.every((f) => f.relrowsecurity && f.relforcerowsecurity)).toBe(true)
    expect((await run(['status', '--table', 'public.projects', '--table', 'public.notes'])).code).toBe(RLS_EXIT.ok)
  })

  it('refuses a non-owner with a message that says whom to run it as', async () => {
    const { code, err } = await run(['disable'], role.url)
    expect(code).toBe(RLS_EXIT.error)
    expect(err).toContain('run it as the owner of the tables')
  })

  it('disables again', async () => {
    const { code, out } = await run(['disable', '--table', 'public.projects', '--table', 'public.notes'])
    expect(code).toBe(RLS_EXIT.ok)
    expect(out).toContain('row-level security: disabled')
  })

  it('explains usage errors with exit code 2', async () => {
    expect((await run(['switch'])).code).toBe(RLS_EXIT.usage)
    expect((await run(['enable', '--table'])).err).toContain('--table needs a value')
    expect((await run(['enable', '--table', 'Bad-Name'])).err).toContain('--table expects schema.table')
    expect((await run(['status'], '')).err).toContain('set DATABASE_URL')
    expect((await run(['enable', '--table', 'public.nope'])).err).toContain('no such table public.nope')
  })
})
