import { sql, type Generated, type Kysely } from 'kysely'
import type pg from 'pg'
import { z } from 'zod'
import { createTenantry, defineTable, type Tenantry, type TenantryOptions } from '../../src/index.js'
import { createFixtures, type Fixtures } from '../../src/testing/index.js'

/** A host application's tables, as our users would declare them. */
export interface AppDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    slug: string | null
    status: Generated<string>
    secret: string | null
    budget: number | null
    tags: Generated<Record<string, unknown>>
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  devices: {
    id: Generated<string>
    tenant_id: string
    serial: string
    is_active: Generated<boolean>
    deleted_at: Date | null
  }
  notes: {
    id: Generated<number>
    tenant_id: string
    body: string
    created_at: Generated<Date>
  }
}

/** Creates the host tables in a test database. */
export async function createHostTables(db: Kysely<any>): Promise<void> {
  await sql`
    create table projects (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      name text not null,
      slug text,
      status text not null default 'active',
      secret text,
      budget integer check (budget is null or budget >= 0),
      tags jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create unique index projects_tenant_slug_live_key on projects (tenant_id, slug) where deleted_at is null;
    create index projects_tenant_idx on projects (tenant_id, created_at);
    select tenantry.install_updated_at_trigger('projects');
    create table devices (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      serial text not null,
      is_active boolean not null default true,
      deleted_at timestamptz
    );
    create unique index devices_tenant_serial_live_key on devices (tenant_id, serial) where is_active;
    create table notes (
      id bigserial primary key,
      tenant_id uuid not null references tenantry.tenants (id),
      body text not null,
      created_at timestamptz not null default now()
    );`.execute(db)
}

export const ProjectInsert = z.object({
  name: z.string().min(1).max(200),
  slug: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .nullish(),
  status: z.enum(['active', 'paused', 'archived']).optional(),
  secret: z.string().nullish(),
  budget: z.number().int().nullish(),
  tags: z.record(z.string(), z.unknown()).optional(),
  tenant_id: z.string().optional(),
})

export const ProjectUpdate = ProjectInsert.partial()

export const appTables = {
  projects: defineTable<AppDB, 'projects'>({
    table: 'projects',
    tenantColumn: 'tenant_id',
    softDelete: 'deleted_at',
    insert: ProjectInsert,
    update: ProjectUpdate,
    audit: { exclude: ['secret'] },
  }),
  devices: defineTable<AppDB, 'devices'>({
    table: 'devices',
    softDelete: { flag: 'is_active', deletedWhen: false, timestamp: 'deleted_at' },
  }),
  notes: defineTable<AppDB, 'notes'>({ table: 'notes' }),
}

export function makeTenantry(pool: pg.Pool, options: Partial<TenantryOptions<AppDB>> = {}): Tenantry<AppDB> {
  return createTenantry<AppDB>({ pool, tables: appTables, ...options })
}

/**
 * Fixtures over `db` (the file database's checking connection), with the host tables declared.
 * Tenants start without roles, so tests that count roles and their audit rows decide them.
 */
export function fixturesFor(db: Kysely<any>, seed = 'tenantry-tests'): Fixtures<AppDB> {
  return createFixtures(createTenantry<AppDB>({ db: db as Kysely<AppDB>, tables: appTables }), { seed, namespace: '', defaultRoles: false })
}

/**
 * Creates a tenant with exactly this slug through the testing kit (an audited system scope) and
 * returns its id. Each test file has a database of its own, so fixed slugs cannot collide.
 */
export async function insertTenant(db: Kysely<any>, slug: string): Promise<string> {
  const tenant = await fixturesFor(db, slug).tenant({ slug, name: slug })
  return tenant.id
}
