import { sql, type Generated, type Kysely } from 'kysely'
import type pg from 'pg'
import { createTenantry, defineTable, type Tenantry } from '../../src/index.js'

/** The bench's host table on a cluster: `public.projects`, distributed by tenant when the cluster has workers. */
export interface CitusBenchDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<string>
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
}

export const citusBenchTables = { projects: defineTable<CitusBenchDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) }

/** Migrates, creates `projects`, `tenants` tenants with `rowsPerTenant` projects each, and distributes when asked. Returns the tenant ids. */
export async function prepareCitusBench(
  pool: pg.Pool,
  db: Kysely<any>,
  options: { tenants: number; rowsPerTenant: number; distribute: boolean },
): Promise<string[]> {
  const admin = createTenantry<CitusBenchDB>({ pool, tables: citusBenchTables })
  const { error } = await admin.migrate()
  if (error) throw error
  await sql`
    create table public.projects (
      id uuid not null default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      name text not null,
      status text not null default 'active',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      primary key (tenant_id, id)
    );
    create index projects_tenant_created_idx on public.projects (tenant_id, created_at);
    select tenantry.install_updated_at_trigger('public.projects');`.execute(db)
  const { rows } = await sql<{ id: string }>`
    insert into tenantry.tenants (slug, name) select 'bench-' || i, 'Bench ' || i from generate_series(1, ${options.tenants}) i returning id`.execute(db)
  const tenants = rows.map((r) => r.id)
  await sql`insert into public.projects (tenant_id, name)
            select t, 'project ' || n from unnest(${tenants}::uuid[]) t, generate_series(1, ${options.rowsPerTenant}) n`.execute(db)
  if (options.distribute) await admin.citus.distribute()
  await sql`analyze`.execute(db)
  return tenants
}

/** One call of each measured operation, on a tenant's own rows. */
export type CitusBenchOp = (tenantry: Tenantry<CitusBenchDB>, tenantId: string, rowId: string) => Promise<unknown>

export const citusBenchOps: Record<string, CitusBenchOp> = {
  findById: (t, tenantId, id) => t.withContext({ tenantId }).repo('projects').findById(id),
  findMany: (t, tenantId) =>
    t
      .withContext({ tenantId })
      .repo('projects')
      .findMany({ orderBy: ['created_at', 'desc'], limit: 50 }),
  count: (t, tenantId) => t.withContext({ tenantId }).repo('projects').count(),
  create: (t, tenantId) => t.withContext({ tenantId }).repo('projects').create({ name: 'bench' }),
  update: (t, tenantId, id) =>
    t
      .withContext({ tenantId })
      .repo('projects')
      .update(id, { name: `renamed ${Math.random()}` }),
  'softDelete + restore': async (t, tenantId, id) => {
    const repo = t.withContext({ tenantId }).repo('projects')
    await repo.softDelete(id)
    await repo.restore(id)
  },
}

/** A mixed request: 60% reads (findById, findMany), 30% updates, 10% creates. */
export async function mixedRequest(tenantry: Tenantry<CitusBenchDB>, tenantId: string, rowId: string, random: number): Promise<void> {
  if (random < 0.3) await citusBenchOps.findById!(tenantry, tenantId, rowId)
  else if (random < 0.6) await citusBenchOps.findMany!(tenantry, tenantId, rowId)
  else if (random < 0.9) await citusBenchOps.update!(tenantry, tenantId, rowId)
  else await citusBenchOps.create!(tenantry, tenantId, rowId)
}
