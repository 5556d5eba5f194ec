import { sql, type Generated } from 'kysely'
import pg from 'pg'
import { createTenantry, defineTable, type Tenantry } from 'tenantry'
import { cloneTestDatabase } from 'tenantry/testing'
import { afterAll, inject } from 'vitest'

/** The host application's own table, as a user of the package declares it. */
export interface AppDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; deleted_at: Date | null }
}

export interface ConsumerDatabase {
  /** Connection string of this file's own database (for the CLI). */
  url: string
  /** The host's pool on this file's own database. */
  pool: pg.Pool
  tenantry: Tenantry<AppDB>
  /** A tenant created through `asSystem`, to work in. */
  tenantId: string
}

/**
 * A migrated copy of the template for this test file, the host table `projects` in it, a tenant,
 * and a tenantry on the host's pool. Everything is closed and dropped after the file.
 */
export async function useConsumerDatabase(): Promise<ConsumerDatabase> {
  const clone = await cloneTestDatabase({ serverUrl: inject('serverUrl'), template: inject('templateDatabase') })
  const pool = new pg.Pool({ connectionString: clone.url, max: 4 })
  const tenantry = createTenantry<AppDB>({
    pool,
    tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
  })
  await sql`create table projects (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants (id),
    name text not null,
    deleted_at timestamptz
  )`.execute(tenantry.kysely)
  const tenant = await tenantry.asSystem({ reason: 'consumer check' }).tenants.create({ slug: 'acme', name: 'Acme' })
  afterAll(async () => {
    await pool.end()
    await clone.drop()
  })
  return { url: clone.url, pool, tenantry, tenantId: tenant.id }
}
