/** The example API's own table, declared for tenantry. */
import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { defineTable, type Generated, type TableDefinition } from '../demo-imports.js'

export interface ApiDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<'active' | 'archived'>
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
}

const name = z.string().trim().min(1).max(200)
const status = z.enum(['active', 'archived'])

/** What a client may send: tenant, ids and timestamps are tenantry's and the database's business. */
export const ProjectInsert = z.strictObject({ name, status: status.optional() })
export const ProjectUpdate = z.strictObject({ name: name.optional(), status: status.optional() })

/** `createTenantry({ tables })` of the API, with its tables in `hostSchema`. */
export function apiTables(hostSchema: string): Record<'projects', TableDefinition<ApiDB, 'projects'>> {
  return {
    projects: defineTable<ApiDB, 'projects'>({
      schema: hostSchema,
      table: 'projects',
      softDelete: 'deleted_at',
      insert: ProjectInsert,
      update: ProjectUpdate,
    }),
  }
}

/**
 * Creates the API's tables: the host's own migration. A project name is unique among a tenant's
 * live projects (a partial index, so a deleted name can be used again).
 */
export async function createApiTables(db: Kysely<any>, schemas: { schema: string; hostSchema: string }): Promise<void> {
  const projects = sql.id(schemas.hostSchema, 'projects')
  await sql`create table ${projects} (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references ${sql.id(schemas.schema, 'tenants')} (id),
    name text not null,
    status text not null default 'active' check (status in ('active', 'archived')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz)`.execute(db)
  await sql`create unique index projects_tenant_name_live_key on ${projects} (tenant_id, lower(name)) where deleted_at is null`.execute(db)
  await sql`create index projects_tenant_created_idx on ${projects} (tenant_id, created_at)`.execute(db)
  await sql`select ${sql.id(schemas.schema, 'install_updated_at_trigger')}(${`${schemas.hostSchema}.projects`}::regclass)`.execute(db)
}
