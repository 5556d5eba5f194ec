/**
 * The README's quick start, runnable: `npx tsx examples/quickstart.ts`
 * (DATABASE_URL when set, otherwise an embedded PostgreSQL that is stopped at the end).
 */
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { createTenantry, defineTable, type Generated } from './demo-imports.js'
import { startTestDatabase } from '../src/testing/index.js'

interface AppDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; deleted_at: Date | null }
}

const server = await startTestDatabase({ url: process.env.DATABASE_URL, preferEmbedded: true })
const databaseName = `tenantry_quickstart_${randomUUID().slice(0, 8)}`
const pool = new pg.Pool({ connectionString: await server.cloneDatabase({ name: databaseName }) })
try {
  const tenantry = createTenantry<AppDB>({
    pool,
    tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
  })
  const { error } = await tenantry.migrate()
  if (error) throw error
  await sql`create table projects (id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants(id), name text not null, deleted_at timestamptz)`.execute(tenantry.kysely)
  const tenant = await tenantry.asSystem({ reason: 'quickstart' }).tenants.create({ slug: 'acme', name: 'Acme' })
  const req = { tenantId: tenant.id, userId: randomUUID(), ip: '127.0.0.1' }

  const scope = tenantry.withContext({ tenantId: req.tenantId, actorId: req.userId, ip: req.ip })
  const projects = scope.repo('projects')
  const apollo = await projects.create({ name: 'Apollo' })
  await projects.update(apollo.id, { name: 'Artemis' })
  const { items, nextCursor } = await projects.page({ limit: 50 })
  await projects.softDelete(apollo.id)
  await scope.transaction(async (tx) => tx.repo('projects').create({ name: 'Gemini' }))

  console.log({ firstPage: items.map((p) => p.name), nextCursor, liveNow: await projects.count() })
} finally {
  await pool.end()
  await server.dropDatabase(databaseName)
  await server.stop()
}
