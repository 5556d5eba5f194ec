import { sql, type Generated, type Kysely } from 'kysely'
import type pg from 'pg'
import { createTenantry, defineTable, type Tenantry, type TableDefinition } from '../../../src/index.js'
import { appTables, type AppDB } from '../../support/host-schema.js'

/** The host tables plus tables that reference each other, with plain foreign keys as hosts write them. */
export interface RefDB extends AppDB {
  deployments: {
    id: Generated<string>
    tenant_id: string
    project_id: string
    previous_id: string | null
    name: string
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  builds: {
    id: Generated<string>
    tenant_id: string
    deployment_id: string
    label: string
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  readings: {
    id: Generated<string>
    tenant_id: string
    device_id: string
    value: number
    is_active: Generated<boolean>
    deleted_at: Date | null
  }
}

/** `deployments.project_id` and `builds.deployment_id` reference with a plain, tenant-blind foreign key. */
export async function createReferenceTables(db: Kysely<any>): Promise<void> {
  await sql`
    create table deployments (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      project_id uuid not null references projects (id),
      previous_id uuid references deployments (id),
      name text not null,
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index deployments_tenant_project_idx on deployments (tenant_id, project_id);
    create table builds (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      deployment_id uuid not null references deployments (id),
      label text not null,
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create table readings (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      device_id uuid not null references devices (id),
      value integer not null,
      is_active boolean not null default true,
      deleted_at timestamptz
    );`.execute(db)
}

export type DeploymentsDefinition = TableDefinition<RefDB, 'deployments'>

/** The declared tables; `deployments` and `builds` may be replaced (other `onSoftDelete`, hooks). */
export function referenceTables(
  overrides: { deployments?: Partial<TableDefinition<RefDB, 'deployments'>>; builds?: Partial<TableDefinition<RefDB, 'builds'>> } = {},
) {
  return {
    ...appTables,
    deployments: defineTable<RefDB, 'deployments'>({
      table: 'deployments',
      softDelete: 'deleted_at',
      references: { project_id: 'projects', previous_id: { table: 'deployments', onSoftDelete: 'ignore' } },
      ...overrides.deployments,
    }),
    builds: defineTable<RefDB, 'builds'>({
      table: 'builds',
      softDelete: 'deleted_at',
      references: { deployment_id: 'deployments' },
      ...overrides.builds,
    }),
    // Both tables soft-delete with a flag and a timestamp (`devices` as the host schema declares it).
    readings: defineTable<RefDB, 'readings'>({
      table: 'readings',
      softDelete: { flag: 'is_active', deletedWhen: false, timestamp: 'deleted_at' },
      references: { device_id: { table: 'devices', onSoftDelete: 'cascade' } },
    }),
  }
}

export function referenceTenantry(
  pool: pg.Pool,
  isolation: 'query' | 'rls',
  tables: ReturnType<typeof referenceTables> = referenceTables(),
): Tenantry<RefDB, ReturnType<typeof referenceTables>> {
  return createTenantry<RefDB, ReturnType<typeof referenceTables>>({ pool, tables, isolation })
}
