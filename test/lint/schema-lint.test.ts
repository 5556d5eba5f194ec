import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, LintCodes, type LintFinding, type LintResult } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'

const fileDb = await useFileDatabase()

/** Host tables in the shapes the lint looks for: each bad one next to its good twin. */
async function createLintTables(db: Kysely<any>): Promise<void> {
  await sql`
    create schema lint;
    -- a parent with the composite key a child can reference
    create table lint.projects (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      slug text not null,
      deleted_at timestamptz,
      constraint projects_tenant_id_id_key unique (tenant_id, id)
    );
    create unique index projects_tenant_slug_live_key on lint.projects (tenant_id, slug) where deleted_at is null;
    -- FK_WITHOUT_TENANT
    create table lint.deployments_bad (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      project_id uuid not null references lint.projects (id) on delete cascade
    );
    create index deployments_bad_tenant_idx on lint.deployments_bad (tenant_id, project_id);
    create table lint.deployments_ok (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      project_id uuid not null,
      foreign key (tenant_id, project_id) references lint.projects (tenant_id, id) on delete cascade
    );
    create index deployments_ok_tenant_idx on lint.deployments_ok (tenant_id, project_id);
    -- FK_WITHOUT_TENANT to a parent without a (tenant_id, id) key, with ON DELETE SET NULL
    create table lint.groups (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id)
    );
    create index groups_tenant_idx on lint.groups (tenant_id);
    create table lint.members (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      group_id uuid references lint.groups (id) on delete set null
    );
    create index members_tenant_idx on lint.members (tenant_id);
    -- FK_WITHOUT_TENANT on a self-reference
    create table lint.folders (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      parent_id uuid references lint.folders (id) deferrable initially deferred
    );
    create index folders_tenant_idx on lint.folders (tenant_id);
    -- TENANT_INDEX_MISSING (an index with tenant_id second does not count)
    create table lint.readings (
      id bigserial primary key,
      tenant_id uuid not null references tenantry.tenants (id),
      taken_at timestamptz not null default now()
    );
    create index readings_time_tenant_idx on lint.readings (taken_at, tenant_id);
    -- UNIQUE_WITHOUT_TENANT: a constraint and an index
    create table lint.customers (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      email text not null constraint customers_email_key unique,
      code text not null
    );
    create unique index customers_code_key on lint.customers (lower(code));
    create index customers_tenant_idx on lint.customers (tenant_id);
    create table lint.customers_ok (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      email text not null,
      constraint customers_ok_tenant_email_key unique (tenant_id, email)
    );
    -- SOFT_DELETE_UNIQUE_NOT_PARTIAL
    create table lint.articles (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      slug text not null,
      deleted_at timestamptz
    );
    create unique index articles_tenant_slug_key on lint.articles (tenant_id, slug);
    create table lint.articles_ok (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      slug text not null,
      is_active boolean not null default true
    );
    create unique index articles_ok_tenant_slug_live_key on lint.articles_ok (tenant_id, slug) where is_active;`.execute(db)
}

const tables = {
  projects: defineTable<any, any>({ table: 'projects', schema: 'lint', softDelete: 'deleted_at' }),
  deploymentsBad: defineTable<any, any>({ table: 'deployments_bad', schema: 'lint' }),
  deploymentsOk: defineTable<any, any>({ table: 'deployments_ok', schema: 'lint' }),
  groups: defineTable<any, any>({ table: 'groups', schema: 'lint' }),
  members: defineTable<any, any>({ table: 'members', schema: 'lint' }),
  folders: defineTable<any, any>({ table: 'folders', schema: 'lint' }),
  readings: defineTable<any, any>({ table: 'readings', schema: 'lint' }),
  customers: defineTable<any, any>({ table: 'customers', schema: 'lint' }),
  customersOk: defineTable<any, any>({ table: 'customers_ok', schema: 'lint' }),
  articles: defineTable<any, any>({ table: 'articles', schema: 'lint', softDelete: 'deleted_at' }),
  articlesOk: defineTable<any, any>({ table: 'articles_ok', schema: 'lint', softDelete: { flag: 'is_active', deletedWhen: false } }),
}

const tenantry = createTenantry({ pool: fileDb.pool, tables })

async function insertTenant(db: Kysely<any>, slug: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`insert into tenantry.tenants (slug, name) values (${slug}, ${slug}) returning id`.execute(db)
  return rows[0]!.id
}

const on = (result: LintResult, table: string) => result.findings.filter((f) => f.table === `lint.${table}`)
const codes = (findings: LintFinding[]) => findings.map((f) => f.code).sort()

/** Runs a finding's fix SQL, statement by statement (CREATE INDEX CONCURRENTLY needs its own). */
async function applyFix(finding: LintFinding): Promise<void> {
  const statements = finding.fix
    .split(/;\n/)
    .map((s) => s.replace(/^--.*$/gm, '').trim())
    .filter(Boolean)
  for (const statement of statements) await sql.raw(statement).execute(fileDb.db)
}

let first: LintResult
beforeAll(async () => {
  await createLintTables(fileDb.db)
  first = await tenantry.lint()
})

describe('tenantry.lint()', () => {
  it('flags a foreign key to a tenant table without the tenant column, and prints the composite key', () => {
    const [finding, ...rest] = on(first, 'deployments_bad')
    expect(rest).toEqual([])
    expect(finding).toMatchObject({
      code: LintCodes.FK_WITHOUT_TENANT,
      constraint: 'deployments_bad_project_id_fkey',
      columns: ['project_id'],
      references: 'lint.projects',
    })
    expect(finding!.message).toContain('Citus')
    // the parent already has unique (tenant_id, id): only the key itself changes, ON DELETE kept
    expect(finding!.fix).toBe(
      'alter table lint.deployments_bad drop constraint deployments_bad_project_id_fkey,\n' +
        '  add constraint deployments_bad_project_id_fkey foreign key (tenant_id, project_id) references lint.projects (tenant_id, id) ON DELETE CASCADE;',
    )
    expect(on(first, 'deployments_ok')).toEqual([])
  })

  it('adds the parent key the composite reference needs, and keeps SET NULL off the tenant column', () => {
    const [finding] = on(first, 'members')
    expect(finding!.code).toBe('FK_WITHOUT_TENANT')
    expect(finding!.fix).toBe(
      'alter table lint.groups add constraint groups_tenant_id_id_key unique (tenant_id, id);\n' +
        'alter table lint.members drop constraint members_group_id_fkey,\n' +
        '  add constraint members_group_id_fkey foreign key (tenant_id, group_id) references lint.groups (tenant_id, id) ON DELETE SET NULL (group_id);',
    )
    expect(on(first, 'groups')).toEqual([])
  })

  it('flags a self-reference without the tenant column, keeping its deferral', () => {
    const [finding] = on(first, 'folders')
    expect(finding).toMatchObject({ code: 'FK_WITHOUT_TENANT', constraint: 'folders_parent_id_fkey', references: 'lint.folders' })
    expect(finding!.fix).toBe(
      'alter table lint.folders add constraint folders_tenant_id_id_key unique (tenant_id, id);\n' +
        'alter table lint.folders drop constraint folders_parent_id_fkey,\n' +
        '  add constraint folders_parent_id_fkey foreign key (tenant_id, parent_id) references lint.folders (tenant_id, id) DEFERRABLE INITIALLY DEFERRED;',
    )
  })

  it('flags a tenant table without an index led by the tenant column', () => {
    expect(on(first, 'readings')).toEqual([
      expect.objectContaining({
        code: 'TENANT_INDEX_MISSING',
        constraint: null,
        columns: ['tenant_id'],
        fix: 'create index concurrently readings_tenant_id_idx on lint.readings (tenant_id);',
      }),
    ])
  })

  it('flags unique constraints and unique indexes without the tenant column, naming Citus', () => {
    const findings = on(first, 'customers')
    expect(findings.map((f) => [f.code, f.constraint, f.columns])).toEqual([
      ['UNIQUE_WITHOUT_TENANT', 'customers_code_key', ['lower(code)']],
      ['UNIQUE_WITHOUT_TENANT', 'customers_email_key', ['email']],
    ])
    expect(findings.every((f) => f.message.includes('Citus'))).toBe(true)
    expect(findings[1]!.fix).toBe(
      'alter table lint.customers drop constraint customers_email_key,\n  add constraint customers_email_key unique (tenant_id, email);',
    )
    expect(findings[0]!.fix).toBe(
      'drop index lint.customers_code_key;\nCREATE UNIQUE INDEX customers_code_key ON lint.customers USING btree (tenant_id, lower(code));',
    )
    expect(on(first, 'customers_ok')).toEqual([])
  })

  it('flags unique keys of soft-delete tables that are not partial on live rows', () => {
    expect(on(first, 'articles')).toEqual([
      expect.objectContaining({
        code: 'SOFT_DELETE_UNIQUE_NOT_PARTIAL',
        constraint: 'articles_tenant_slug_key',
        columns: ['tenant_id', 'slug'],
        fix: 'drop index lint.articles_tenant_slug_key;\nCREATE UNIQUE INDEX articles_tenant_slug_key ON lint.articles USING btree (tenant_id, slug) WHERE deleted_at is null;',
      }),
    ])
    expect(on(first, 'articles_ok')).toEqual([])
    expect(on(first, 'projects')).toEqual([])
  })

  it('lints the bundled tables clean, apart from two documented exceptions', async () => {
    const bundledOnly = await createTenantry({ pool: fileDb.pool }).lint()
    expect(bundledOnly.ok).toBe(true)
    expect(bundledOnly.tables).toEqual(
      expect.arrayContaining([
        'tenantry.memberships',
        'tenantry.roles',
        'tenantry.user_roles',
        'tenantry.invitations',
        'tenantry.audit_logs',
        'tenantry.sessions',
      ]),
    )
    // tenants, users and refresh_tokens have no tenant column: only their row-level security is linted
    expect(bundledOnly.tables).not.toContain('tenantry.tenants')
    expect(bundledOnly.accepted.map((f) => [f.code, f.table, f.constraint])).toEqual([
      ['UNIQUE_WITHOUT_TENANT', 'tenantry.invitations', 'invitations_selector_key'],
      ['FK_WITHOUT_TENANT', 'tenantry.user_roles', 'user_roles_role_id_fkey'],
    ])
    expect(bundledOnly.accepted.every((f) => f.reason.length > 0)).toBe(true)
    expect(first.findings.filter((f) => f.table.startsWith('tenantry.'))).toEqual([])
  })

  it('reads the catalog in one round trip', async () => {
    const before = fileDb.roundTrips.count
    await tenantry.lint()
    expect(fileDb.roundTrips.count - before).toBe(1)
  })

  it('refuses unknown options with VALIDATION', async () => {
    await expect(tenantry.lint({ strict: true } as never)).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('names a declared table that does not exist', async () => {
    const missing = createTenantry({ pool: fileDb.pool, tables: { nope: defineTable<any, any>({ table: 'nope', schema: 'lint' }) } })
    await expect(missing.lint()).rejects.toMatchObject({ code: 'CONFIGURATION', message: 'lint: no such table lint.nope' })
  })
})

describe('the fixes the lint prints', () => {
  it('a cross-tenant reference is possible before the composite key and refused after it', async () => {
    const a = await insertTenant(fileDb.db, 'lint-a')
    const b = await insertTenant(fileDb.db, 'lint-b')
    const [project] = await sql<{ id: string }>`insert into lint.projects (tenant_id, slug) values (${a}, 'apollo') returning id`
      .execute(fileDb.db)
      .then((r) => r.rows)
    // the attack: tenant B's deployment points at tenant A's project, and the database accepts it
    await sql`insert into lint.deployments_bad (tenant_id, project_id) values (${b}, ${project!.id})`.execute(fileDb.db)
    await sql`delete from lint.deployments_bad`.execute(fileDb.db)
    await applyFix(on(first, 'deployments_bad')[0]!)
    await expect(sql`insert into lint.deployments_bad (tenant_id, project_id) values (${b}, ${project!.id})`.execute(fileDb.db)).rejects.toMatchObject({
      code: '23503',
    })
    await sql`insert into lint.deployments_bad (tenant_id, project_id) values (${a}, ${project!.id})`.execute(fileDb.db)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from lint.deployments_bad where tenant_id = ${a}`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(1)
  })

  it('every printed fix applies, and the tables then lint clean', async () => {
    for (const finding of first.findings) {
      if (finding.table === 'lint.deployments_bad') continue // applied above
      await applyFix(finding)
    }
    const again = await tenantry.lint()
    expect(again.findings).toEqual([])
    expect(again.ok).toBe(true)
    // a deleted article's slug can be used again now
    const a = await insertTenant(fileDb.db, 'lint-c')
    await sql`insert into lint.articles (tenant_id, slug, deleted_at) values (${a}, 'hello', now())`.execute(fileDb.db)
    await sql`insert into lint.articles (tenant_id, slug) values (${a}, 'hello')`.execute(fileDb.db)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from lint.articles where slug = 'hello'`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(2)
  })
})

describe('tenantry.lint() with citus checks', () => {
  it('asks for the tenant column in primary keys and as a plain column in unique keys', async () => {
    const result = await tenantry.lint({ citus: true })
    expect(result.checks.citus).toBe(true)
    expect(result.findings.filter((f) => f.table === 'lint.readings').map((f) => [f.code, f.constraint])).toEqual([
      ['PRIMARY_KEY_WITHOUT_TENANT', 'readings_pkey'],
    ])
    const pk = result.findings.find((f) => f.table === 'lint.readings')!
    expect(pk.fix).toContain('add constraint readings_pkey primary key (tenant_id, id);')
    // roles' key holds tenant_id inside coalesce(): enough for uniqueness per tenant, not for Citus
    expect(result.findings.find((f) => f.table === 'tenantry.roles' && f.code === 'UNIQUE_WITHOUT_TENANT')?.constraint).toBe('roles_tenant_name_live_key')
    expect((await tenantry.lint()).checks.citus).toBe(false)
  })
})

describe('tenantry.lint() in rls mode', () => {
  const rlsTenantry = createTenantry({ pool: fileDb.pool, isolation: 'rls', tables: { projects: tables.projects } })
  afterAll(() => rlsTenantry.rls.disable())

  it('flags tables without tenantry policies or FORCE, and is clean once rls.enable() ran', async () => {
    const before = await rlsTenantry.lint()
    expect(before.checks.rls).toBe(true)
    expect(codes(before.findings.filter((f) => f.table === 'lint.projects'))).toEqual(['RLS_NOT_FORCED', 'RLS_POLICY_MISSING'])
    expect(before.findings.find((f) => f.table === 'lint.projects' && f.code === 'RLS_POLICY_MISSING')!.fix).toBe(
      "select tenantry.install_tenant_policy('lint.projects'::regclass, 'tenant_id');",
    )
    expect(codes(before.findings.filter((f) => f.table === 'tenantry.tenants'))).toEqual(['RLS_NOT_FORCED'])

    await rlsTenantry.rls.enable()
    expect((await rlsTenantry.lint()).findings).toEqual([])

    await sql`alter table lint.projects no force row level security`.execute(fileDb.db)
    const unforced = await rlsTenantry.lint()
    expect(unforced.findings.map((f) => [f.code, f.table])).toEqual([['RLS_NOT_FORCED', 'lint.projects']])
    expect(unforced.findings[0]!.message).toContain('not FORCEd')
    await applyFix(unforced.findings[0]!)
    const { rows } = await sql<{ forced: boolean }>`select relforcerowsecurity as forced from pg_class where oid = 'lint.projects'::regclass`.execute(fileDb.db)
    expect(rows[0]!.forced).toBe(true)
  })

  it('skips row-level security checks in query mode', async () => {
    expect((await tenantry.lint()).checks.rls).toBe(false)
  })
})
