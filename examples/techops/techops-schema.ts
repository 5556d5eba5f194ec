/**
 * The operations dashboard's tables: groups of projects, projects, their deployments, and
 * maintenance requests with a status history. Every child names its parent with a composite key
 * `(tenant_id, parent_id)`, so the database itself refuses a reference across tenants, and
 * tenantry's `references` check says so with one error before the database would.
 */
import { sql, type Kysely } from 'kysely'
import { z } from 'zod'
import { defineTable, type Generated, type TableDefinition } from '../demo-imports.js'

interface Timestamps {
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export interface TechopsDB {
  project_groups: Timestamps & { id: Generated<string>; tenant_id: string; name: string; deleted_at: Date | null }
  projects: Timestamps & { id: Generated<string>; tenant_id: string; group_id: string; name: string; deleted_at: Date | null }
  deployments: Timestamps & {
    id: Generated<string>
    tenant_id: string
    project_id: string
    version: string
    environment: 'staging' | 'production'
    deleted_at: Date | null
  }
  maintenance_requests: Timestamps & {
    id: Generated<string>
    tenant_id: string
    project_id: string
    title: string
    status: Generated<RequestStatus>
    deleted_at: Date | null
  }
  request_status_history: {
    id: Generated<string>
    tenant_id: string
    request_id: string
    from_status: RequestStatus
    to_status: RequestStatus
    changed_by: string | null
    changed_at: Generated<Date>
  }
}

export const REQUEST_STATUSES = ['open', 'scheduled', 'in_progress', 'done', 'cancelled'] as const
export type RequestStatus = (typeof REQUEST_STATUSES)[number]

const name = z.string().trim().min(1).max(200)
const id = z.string().uuid()

export type TechopsTables = { [T in keyof TechopsDB]: TableDefinition<TechopsDB, T> }

/**
 * `createTenantry({ tables })` of the app. Deleting a group deletes its projects, deleting a
 * project deletes its deployments (and a restore brings back exactly those); a project with open
 * maintenance requests cannot be deleted. Deployments need `deployments:read` / `deployments:write`
 * on every path, `scope.db` included.
 */
export function techopsTables(): TechopsTables {
  return {
    project_groups: defineTable<TechopsDB, 'project_groups'>({
      table: 'project_groups',
      softDelete: 'deleted_at',
      insert: z.strictObject({ name }),
      update: z.strictObject({ name }),
    }),
    projects: defineTable<TechopsDB, 'projects'>({
      table: 'projects',
      softDelete: 'deleted_at',
      insert: z.strictObject({ name, group_id: id }),
      update: z.strictObject({ name: name.optional(), group_id: id.optional() }),
      references: { group_id: { table: 'project_groups', onSoftDelete: 'cascade' } },
    }),
    deployments: defineTable<TechopsDB, 'deployments'>({
      table: 'deployments',
      softDelete: 'deleted_at',
      insert: z.strictObject({ project_id: id, version: z.string().min(1).max(64), environment: z.enum(['staging', 'production']) }),
      references: { project_id: { table: 'projects', onSoftDelete: 'cascade' } },
      permissions: { read: 'deployments:read', write: 'deployments:write' },
    }),
    maintenance_requests: defineTable<TechopsDB, 'maintenance_requests'>({
      table: 'maintenance_requests',
      softDelete: 'deleted_at',
      insert: z.strictObject({ project_id: id, title: name }),
      update: z.strictObject({ title: name.optional(), status: z.enum(REQUEST_STATUSES).optional() }),
      // 'restrict' (the default): a project with live requests is not deleted by accident.
      references: { project_id: 'projects' },
      hooks: {
        // The status history is one hook: `before` holds each row as it was, read by the same statement.
        async afterUpdate(rows, { before, tx, context }) {
          const changes = rows.flatMap((row, i) =>
            row.status === before[i]!.status
              ? []
              : [{ request_id: row.id, from_status: before[i]!.status, to_status: row.status, changed_by: context?.actorId ?? null }],
          )
          if (changes.length > 0) await tx.repo('request_status_history').createMany(changes)
        },
      },
    }),
    request_status_history: defineTable<TechopsDB, 'request_status_history'>({
      table: 'request_status_history',
      references: { request_id: { table: 'maintenance_requests', onSoftDelete: 'ignore' } },
    }),
  }
}

/**
 * The host's migration. Each tenant table has `unique (tenant_id, id)` so children can reference it
 * with a composite key, indexes led by `tenant_id`, and unique names only among live rows.
 */
export async function createTechopsTables(db: Kysely<any>, schema = 'tenantry'): Promise<void> {
  const tenants = sql.id(schema, 'tenants')
  const statements = [
    sql`create table project_groups (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null references ${tenants} (id),
      name text not null, created_at timestamptz not null default now(), updated_at timestamptz not null default now(), deleted_at timestamptz,
      unique (tenant_id, id))`,
    sql`create unique index project_groups_name_live_key on project_groups (tenant_id, lower(name)) where deleted_at is null`,
    sql`create table projects (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null references ${tenants} (id),
      group_id uuid not null, name text not null,
      created_at timestamptz not null default now(), updated_at timestamptz not null default now(), deleted_at timestamptz,
      unique (tenant_id, id), foreign key (tenant_id, group_id) references project_groups (tenant_id, id))`,
    sql`create unique index projects_name_live_key on projects (tenant_id, lower(name)) where deleted_at is null`,
    sql`create index projects_group_idx on projects (tenant_id, group_id)`,
    sql`create table deployments (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null references ${tenants} (id),
      project_id uuid not null, version text not null, environment text not null check (environment in ('staging', 'production')),
      created_at timestamptz not null default now(), updated_at timestamptz not null default now(), deleted_at timestamptz,
      unique (tenant_id, id), foreign key (tenant_id, project_id) references projects (tenant_id, id))`,
    sql`create index deployments_project_idx on deployments (tenant_id, project_id, created_at)`,
    sql`create table maintenance_requests (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null references ${tenants} (id),
      project_id uuid not null, title text not null, status text not null default 'open',
      created_at timestamptz not null default now(), updated_at timestamptz not null default now(), deleted_at timestamptz,
      unique (tenant_id, id), foreign key (tenant_id, project_id) references projects (tenant_id, id))`,
    sql`create index maintenance_requests_project_idx on maintenance_requests (tenant_id, project_id)`,
    sql`create table request_status_history (
      id uuid primary key default gen_random_uuid(), tenant_id uuid not null references ${tenants} (id),
      request_id uuid not null, from_status text not null, to_status text not null, changed_by uuid, changed_at timestamptz not null default now(),
      unique (tenant_id, id), foreign key (tenant_id, request_id) references maintenance_requests (tenant_id, id))`,
    sql`create index request_status_history_request_idx on request_status_history (tenant_id, request_id, changed_at)`,
  ]
  for (const statement of statements) await statement.execute(db)
  for (const table of ['project_groups', 'projects', 'deployments', 'maintenance_requests']) {
    await sql`select ${sql.id(schema, 'install_updated_at_trigger')}(${`public.${table}`}::regclass)`.execute(db)
  }
}
