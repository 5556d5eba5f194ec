import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { runCitusCommand } from '../../src/cli/commands/citus.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { runCli } from '../../src/cli/run-cli.js'
import { isTenantryError } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, makeTenantry } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
await createHostTables(fileDb.db)
const tenantry = makeTenantry(fileDb.pool)

async function cli(argv: string[], command = runCitusCommand) {
  const out: string[] = []
  const err: string[] = []
  const code = await command(argv, { env: { DATABASE_URL: fileDb.url }, stdout: (l) => out.push(l), stderr: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('tenantry.citus on a PostgreSQL without Citus', () => {
  it('reports Citus as not installed and every table as local', async () => {
    const status = await tenantry.citus.status()
    expect(status).toMatchObject({ installed: false, version: null, workers: 0, distributed: false })
    expect(status.tables.map((t) => [t.table, t.distribution, t.exists])).toEqual([
      ['tenantry.tenants', 'local', true],
      ['tenantry.users', 'local', true],
      ['tenantry.roles', 'local', true],
      ['tenantry.audit_logs', 'local', true],
      ['tenantry.memberships', 'local', true],
      ['tenantry.user_roles', 'local', true],
      ['tenantry.invitations', 'local', true],
      ['tenantry.sessions', 'local', true],
      ['tenantry.refresh_tokens', 'local', true],
      ['public.projects', 'local', true],
      ['public.devices', 'local', true],
      ['public.notes', 'local', true],
    ])
  })

  it('refuses to distribute with a CONFIGURATION error and changes nothing', async () => {
    const before = await sql<{ def: string }>`select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'memberships_pkey'`.execute(fileDb.db)
    const error = await tenantry.citus.distribute().catch((e: unknown) => e)
    expect(isTenantryError(error) && error.code).toBe('CONFIGURATION')
    expect((error as Error).message).toBe(
      'citus distribute: the citus extension is not installed in this database (create extension citus, on the coordinator)',
    )
    const after = await sql<{ def: string }>`select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'memberships_pkey'`.execute(fileDb.db)
    expect(after.rows).toEqual(before.rows)
    expect(before.rows).toEqual([{ def: 'PRIMARY KEY (id)' }])
  })

  it('keeps the one-statement audit path: audit_logs is not distributed here', async () => {
    await tenantry.ready()
    expect(tenantry.runtime.distributedAudit).toBe(false)
    const tenantId = (await sql<{ id: string }>`insert into tenantry.tenants (slug, name) values ('single', 'Single') returning id`.execute(fileDb.db)).rows[0]!
      .id
    const row = await tenantry.withContext({ tenantId }).repo('projects').create({ name: 'one statement' })
    const { rows } = await sql<{
      n: number
    }>`select count(*)::int as n from tenantry.audit_logs where resource_id = ${row.id} and action = 'projects.create'`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(1)
  })

  it('refuses a malformed colocateWith before any SQL', async () => {
    const error = await tenantry.citus.distribute({ colocateWith: 'x; drop table users' }).catch((e: unknown) => e)
    expect(isTenantryError(error) && error.code).toBe('VALIDATION')
  })

  it('says so from the CLI: status exits 3, distribute exits 1', async () => {
    expect(await cli(['status'])).toMatchObject({ code: EXIT.notDistributed, out: 'citus: not installed in this database' })
    expect(await cli(['distribute'])).toMatchObject({
      code: EXIT.failed,
      err: 'tenantry citus distribute: the citus extension is not installed in this database (create extension citus, on the coordinator)',
    })
    expect((await cli(['--help'], runCli)).out).toContain('citus distribute|status')
    expect((await cli(['citus', '--help'], runCli)).out).toContain('usage: tenantry citus distribute|status')
  })
})
