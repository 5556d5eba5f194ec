import { sql, type Generated, type Kysely } from 'kysely'

/**
 * The host table the benchmark runs against, declared the way the docs recommend: every index
 * leads with `tenant_id`, and the composite `(tenant_id, created_at, id)` serves both the
 * `findMany` ordering and the keyset `page` ordering (the primary key is the tiebreaker).
 */
export interface BenchDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<string>
    batch: Generated<number>
    budget: number | null
    tags: Generated<Record<string, unknown>>
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  /** A child table: each deployment references a project of its own tenant. */
  deployments: {
    id: Generated<string>
    tenant_id: string
    project_id: string
    version: string
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
}

export async function createHostTable(db: Kysely<any>): Promise<void> {
  await sql`
    create table projects (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      name text not null,
      status text not null default 'active',
      batch integer not null default 0,
      budget integer,
      tags jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index projects_tenant_created_idx on projects (tenant_id, created_at, id);
    alter table projects add constraint projects_tenant_id_id_key unique (tenant_id, id);
    select tenantry.install_updated_at_trigger('projects');
    create table deployments (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      project_id uuid not null,
      version text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      foreign key (tenant_id, project_id) references projects (tenant_id, id)
    );
    create index deployments_tenant_project_idx on deployments (tenant_id, project_id);
    select tenantry.install_updated_at_trigger('deployments');`.execute(db)
}

export interface SeedSizes {
  tenants: number
  rowsPerTenant: number
  /** Audit rows per tenant (history the audit inserts and reads must not slow down with). */
  auditRowsPerTenant: number
}

/**
 * Seeds server-side with `generate_series`, rows of all tenants interleaved in time order as a
 * real SaaS table is (the worst case for heap locality), then `vacuum analyze` so the planner
 * sees the real sizes. 1,000,000 rows take tens of seconds, not minutes.
 */
export async function seedHostData(db: Kysely<any>, sizes: SeedSizes): Promise<string[]> {
  await sql`insert into tenantry.tenants (slug, name)
    select 'bench-' || g, 'Bench tenant ' || g from generate_series(1, ${sizes.tenants}::int) g`.execute(db)
  const { rows } = await sql<{ id: string }>`select id from tenantry.tenants where slug like 'bench-%' order by slug`.execute(db)
  await sql`insert into projects (tenant_id, name, batch, budget, created_at, updated_at)
    select t.id, 'project ' || g, g % 10, g, now() - g * interval '1 second', now() - g * interval '1 second'
      from generate_series(1, ${sizes.rowsPerTenant}::int) g cross join tenantry.tenants t
     where t.slug like 'bench-%'
     order by g desc, t.id`.execute(db)
  if (sizes.auditRowsPerTenant > 0) {
    await sql`insert into tenantry.audit_logs (tenant_id, action, resource_type, resource_id, new_values, changed_fields, outcome, created_at)
      select t.id, 'projects.create', 'projects', gen_random_uuid()::text, jsonb_build_object('name', 'project ' || g),
             array['name'], 'success', now() - g * interval '1 second'
        from generate_series(1, ${sizes.auditRowsPerTenant}::int) g cross join tenantry.tenants t
       where t.slug like 'bench-%'
       order by g desc, t.id`.execute(db)
  }
  await sql`vacuum analyze`.execute(db)
  return rows.map((r) => r.id)
}

export interface BenchActors {
  /** A member of the bench tenant with a role granting `projects:*`. */
  actorId: string
  /** Owner of the sessions `issue` opens (capped, so it evicts as a real user would). */
  issueUserId: string
  /** One user per implementation whose single session is rotated over and over. */
  rotateUserIds: string[]
}

export async function seedActors(db: Kysely<any>, tenantId: string, rotators: number): Promise<BenchActors> {
  const user = async (email: string) => (await sql<{ id: string }>`insert into tenantry.users (email) values (${email}) returning id`.execute(db)).rows[0]!.id
  const actorId = await user('actor@bench.test')
  await sql`insert into tenantry.memberships (tenant_id, user_id) values (${tenantId}::uuid, ${actorId}::uuid)`.execute(db)
  const role = await sql<{ id: string }>`insert into tenantry.roles (tenant_id, name, permissions)
    values (${tenantId}::uuid, 'editor', array['projects:*', 'reports:read']) returning id`.execute(db)
  await sql`insert into tenantry.user_roles (tenant_id, user_id, role_id)
    values (${tenantId}::uuid, ${actorId}::uuid, ${role.rows[0]!.id}::uuid)`.execute(db)
  const issueUserId = await user('issuer@bench.test')
  const rotateUserIds: string[] = []
  for (let i = 0; i < rotators; i++) rotateUserIds.push(await user(`rotator-${i}@bench.test`))
  return { actorId, issueUserId, rotateUserIds }
}

/** Fresh live rows for `softDelete` (each call consumes one), outside every `updateMany` batch. */
export async function seedVictims(db: Kysely<any>, tenantId: string, count: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`insert into projects (tenant_id, name, batch)
    select ${tenantId}::uuid, 'victim ' || g, -1 from generate_series(1, ${count}::int) g returning id`.execute(db)
  return rows.map((r) => r.id)
}
