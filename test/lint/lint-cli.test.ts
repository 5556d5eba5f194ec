import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { runLintCommand } from '../../src/cli/commands/lint.js'
import { runRlsCommand } from '../../src/cli/commands/rls.js'
import { runCli } from '../../src/cli/run-cli.js'
import type { CommandIo } from '../../src/cli/command-io.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { LintResult } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'
import { useFileDatabase } from '../support/test-database.js'
import { createAppRole, type AppRole } from '../isolation/support/app-role.js'

const fileDb = await useFileDatabase()
let role: AppRole

type Command = (argv: string[], io: CommandIo) => Promise<number>

async function run(argv: string[], options: { url?: string | undefined; command?: Command } = {}) {
  const out: string[] = []
  const err: string[] = []
  const url = 'url' in options ? options.url : fileDb.url
  const io = { env: { DATABASE_URL: url }, stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) }
  const code = await (options.command ?? runLintCommand)(argv, io)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

beforeAll(async () => {
  await sql`
    -- tables whose tenant column is org_id: clean
    create table public.accounts (
      id uuid primary key default gen_random_uuid(),
      org_id uuid not null,
      name text not null,
      constraint accounts_org_id_id_key unique (org_id, id),
      constraint accounts_org_name_key unique (org_id, name)
    );
    create table public.account_notes (
      id uuid primary key default gen_random_uuid(),
      org_id uuid not null,
      account_id uuid not null,
      foreign key (org_id, account_id) references public.accounts (org_id, id)
    );
    create index account_notes_org_idx on public.account_notes (org_id, account_id);
    -- found through tenantry's policy, whose USING clause names its tenant column
    create table public.ledgers (
      id uuid primary key default gen_random_uuid(),
      account_ref uuid not null
    );
    create index ledgers_account_ref_idx on public.ledgers (account_ref);
    select tenantry.install_tenant_policy('public.ledgers', 'account_ref');
    -- tenant_id tables with a cross-tenant reference
    create table public.customers (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      constraint customers_tenant_id_id_key unique (tenant_id, id)
    );
    create table public.invoices (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      customer_id uuid not null references public.customers (id)
    );
    create index invoices_tenant_idx on public.invoices (tenant_id);
    -- team_id tables: soft delete guessed from deleted_at; a flag predicate counts as partial
    create table public.labels (
      id uuid primary key default gen_random_uuid(),
      team_id uuid not null,
      name text not null,
      deleted_at timestamptz
    );
    create unique index labels_team_name_key on public.labels (team_id, name);
    create table public.labels_ok (
      id uuid primary key default gen_random_uuid(),
      team_id uuid not null,
      name text not null,
      is_active boolean not null default true,
      deleted_at timestamptz
    );
    create unique index labels_ok_team_name_key on public.labels_ok (team_id, name) where is_active;
    -- a tenant column no discovery looks for: only --table finds it
    create table public.widgets (
      id uuid primary key default gen_random_uuid(),
      owner_org uuid not null
    );`.execute(fileDb.db)
  role = await createAppRole(fileDb)
})

describe('npx tenantry lint', () => {
  it('exits 0 and says so when the tables are clean', async () => {
    const { code, out, err } = await run(['--tenant-column', 'org_id'])
    expect(err).toBe('')
    expect(code).toBe(EXIT.ok)
    expect(out).toMatch(/^no findings in \d+ tables$/m)
    expect(out).toContain('accepted: FK_WITHOUT_TENANT tenantry.user_roles user_roles_role_id_fkey: system roles')
  })

  it('discovers tables by the tenant column and by tenantry policy', async () => {
    const { code, out } = await run(['--tenant-column=org_id', '--json'])
    expect(code).toBe(EXIT.ok)
    const result = JSON.parse(out) as LintResult
    expect(result.tables).toEqual(expect.arrayContaining(['public.accounts', 'public.account_notes', 'public.ledgers', 'tenantry.memberships']))
    expect(result.tables).not.toContain('public.invoices')
    expect(result.tables).not.toContain('public.widgets')
  })

  it('exits 1 and prints each finding with the SQL that fixes it', async () => {
    const { code, out } = await run([])
    expect(code).toBe(EXIT.findings)
    expect(out).toContain('FK_WITHOUT_TENANT  public.invoices  invoices_customer_id_fkey')
    expect(out).toContain(
      '    alter table public.invoices drop constraint invoices_customer_id_fkey,\n' +
        '      add constraint invoices_customer_id_fkey foreign key (tenant_id, customer_id) references public.customers (tenant_id, id);',
    )
    expect(out).toMatch(/^1 finding in 1 of \d+ tables$/m)
    // the printed fix works
    await sql.raw(out.split('fix:\n')[1]!.split('\n\n')[0]!.replace(/^ {4}/gm, '')).execute(fileDb.db)
    expect((await run([])).code).toBe(EXIT.ok)
  })

  it('guesses soft delete from a deleted_at column', async () => {
    const { code, out } = await run(['--tenant-column', 'team_id', '--json'])
    expect(code).toBe(EXIT.findings)
    const result = JSON.parse(out) as LintResult
    expect(result.findings.map((f) => [f.code, f.table, f.constraint])).toEqual([['SOFT_DELETE_UNIQUE_NOT_PARTIAL', 'public.labels', 'labels_team_name_key']])
    expect(result.tables).toContain('public.labels_ok')
  })

  it('lints a --table with its own tenant column', async () => {
    const { code, out } = await run(['--json', '--table', 'public.widgets:owner_org'])
    expect(code).toBe(EXIT.findings)
    const result = JSON.parse(out) as LintResult
    expect(result.findings).toEqual([expect.objectContaining({ code: 'TENANT_INDEX_MISSING', table: 'public.widgets', columns: ['owner_org'] })])
  })

  it('flags, with --citus, a primary key that keeps a host table from being co-located by its tenant, with the fix that works', async () => {
    const clean = await run(['--json', '--table', 'public.accounts:org_id'])
    expect((JSON.parse(clean.out) as LintResult).checks.citus).toBe(false)
    expect(clean.code).toBe(EXIT.ok)
    const { code, out } = await run(['--json', '--citus', '--table', 'public.accounts:org_id'])
    expect(code).toBe(EXIT.findings)
    const result = JSON.parse(out) as LintResult
    expect(result.checks.citus).toBe(true)
    // (the bundled tables have findings of their own under --citus: distribute() fixes those keys itself)
    const accounts = result.findings.filter((f) => f.table === 'public.accounts')
    expect(accounts.map((f) => [f.code, f.constraint])).toEqual([['PRIMARY_KEY_WITHOUT_TENANT', 'accounts_pkey']])
    // the printed fix works (no foreign key references accounts_pkey: account_notes references (org_id, id))
    await sql.raw(accounts[0]!.fix!.replace(/^--.*\n/gm, '')).execute(fileDb.db)
    const after = JSON.parse((await run(['--json', '--citus', '--table', 'public.accounts:org_id'])).out) as LintResult
    expect(after.findings.filter((f) => f.table === 'public.accounts')).toEqual([])
  })

  it('checks row-level security with --rls, and on its own once rls is enabled', async () => {
    const before = await run(['--rls', '--tenant-column', 'org_id'])
    expect(before.code).toBe(EXIT.findings)
    expect(before.out).toContain('RLS_POLICY_MISSING  public.accounts')
    expect(before.out).toContain("    select tenantry.install_tenant_policy('public.accounts'::regclass, 'org_id');")
    expect(before.out).toContain('RLS_NOT_FORCED  tenantry.tenants')
    expect((await run(['--tenant-column', 'org_id'])).code).toBe(EXIT.ok)

    const tables = ['--table', 'public.accounts:org_id', '--table', 'public.account_notes:org_id', '--table', 'public.ledgers:account_ref']
    expect((await run(['enable', ...tables], { command: runRlsCommand })).code).toBe(0)
    try {
      const after = await run(['--tenant-column', 'org_id'])
      expect(after.out).toContain('(with row-level security checks)')
      expect(after.code).toBe(EXIT.ok)
      // the catalog tells an ordinary (non-owner) role the same, policies included
      const asApp = await run(['--tenant-column', 'org_id'], { url: role.url })
      expect(asApp).toEqual(after)
      await sql`alter table public.accounts no force row level security`.execute(fileDb.db)
      const unforced = await run(['--tenant-column', 'org_id', '--json'], { url: role.url })
      expect(unforced.code).toBe(EXIT.findings)
      expect((JSON.parse(unforced.out) as LintResult).findings.map((f) => [f.code, f.table])).toEqual([['RLS_NOT_FORCED', 'public.accounts']])
    } finally {
      await run(['disable', ...tables], { command: runRlsCommand })
    }
  })

  it('is wired into tenantry <command>', async () => {
    expect((await run(['lint', '--tenant-column', 'org_id'], { command: runCli })).code).toBe(EXIT.ok)
    expect((await run(['--help'], { command: runCli })).out).toContain('lint [--table schema.table ...]')
    expect((await run(['--help'])).out).toContain('usage: tenantry lint')
  })

  it('explains usage errors with exit code 2', async () => {
    expect(await run(['--bogus'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('unknown option --bogus') })
    expect(await run(['--table'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--table needs a value') })
    expect(await run(['--table', 'Bad-Name'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--table expects schema.table') })
    expect(await run(['--tenant-column', 'Org'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('lower-case SQL identifier') })
    expect(await run(['public.projects'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('unexpected argument') })
    expect(await run(['--table', 'public.nope'])).toMatchObject({ code: EXIT.usage, err: 'tenantry lint: no such table public.nope' })
    expect(await run(['--table', 'public.widgets'])).toMatchObject({
      code: EXIT.usage,
      err: 'tenantry lint: table public.widgets has no column "tenant_id" (its tenant column)',
    })
    expect(await run([], { url: undefined })).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('set DATABASE_URL') })
  })

  it('reports an unreachable database in one line, without the password', async () => {
    const url = `postgres://someone:Hunter2-s3cret@127.0.0.1:${await freePort()}/app`
    const { code, err } = await run([], { url })
    expect(code).toBe(1)
    expect(err).toBe(`tenantry lint: connection refused (is PostgreSQL running, and on that port?) [127.0.0.1:${new URL(url).port}/app]`)
  })
})
