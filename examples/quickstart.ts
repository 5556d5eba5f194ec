/**
 * The README's quick start, runnable: `npm run example:quickstart`. It runs on DATABASE_URL when set,
 * otherwise on an embedded PostgreSQL, and removes what it created (see support/demo-database.ts;
 * `schema` is only passed because, without CREATEDB, the example works in throwaway schemas).
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createTenantry, defineTable, type Generated } from './demo-imports.js'
import { openDemoDatabase } from './support/demo-database.js'

interface AppDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; deleted_at: Date | null }
}

const demo = await openDemoDatabase('tenantry_quickstart')
try {
  const { pool } = demo
  const tenantry = createTenantry<AppDB>({
    pool,
    schema: demo.schema,
    tables: { projects: defineTable<AppDB, 'projects'>({ schema: demo.hostSchema, table: 'projects', softDelete: 'deleted_at' }) },
  })
  const { error } = await tenantry.migrate() // bundled tables in schema "tenantry": idempotent, advisory-locked
  if (error) throw error

  // The host's own migration, and a tenant and a request to work with.
  await sql`create table ${sql.id(demo.hostSchema, 'projects')} (id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references ${sql.id(demo.schema, 'tenants')} (id), name text not null, deleted_at timestamptz)`.execute(tenantry.kysely)
  const tenant = await tenantry.asSystem({ reason: 'quickstart' }).tenants.create({ slug: 'acme', name: 'Acme' })
  const req = { tenantId: tenant.id, userId: randomUUID(), ip: '127.0.0.1' }

  const scope = tenantry.withContext({ tenantId: req.tenantId, actorId: req.userId, ip: req.ip })
  const projects = scope.repo('projects')
  const apollo = await projects.create({ name: 'Apollo' }) //          tenant_id filled, audited
  await projects.update(apollo.id, { name: 'Artemis' }) //             one round trip with its audit row
  const { items, nextCursor } = await projects.page({ limit: 50 }) //  keyset pages
  await projects.softDelete(apollo.id)
  await scope.transaction(async (tx) => tx.repo('projects').create({ name: 'Gemini' }))

  const audit = await scope.auditLog.list({ resourceType: 'projects' })
  console.log({
    firstPage: items.map((p) => p.name),
    nextCursor,
    liveNow: (await projects.findMany()).map((p) => p.name),
    deletedNow: (await projects.onlyDeleted().findMany()).map((p) => p.name),
    auditTrail: audit.items.map((e) => e.action).reverse(),
  })
} finally {
  await demo.close()
}
