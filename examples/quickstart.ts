import pg from 'pg'
import { sql, type Generated } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'

interface AppDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; deleted_at: Date | null }
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
pool.on('error', (err) => console.error(`idle PostgreSQL client: ${err.message}`)) // pg's advice; see below
const tenantry = createTenantry<AppDB>({
  pool,
  tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
})
const { error } = await tenantry.migrate() // bundled tables in schema "tenantry": idempotent, advisory-locked
if (error) throw error

// Your own table (in an application: your own migration) and a tenant to work in.
await sql`create table if not exists projects (id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenantry.tenants (id), name text not null, deleted_at timestamptz)`.execute(tenantry.kysely)
const acme = await tenantry.asSystem({ reason: 'quick start' }).tenants.create({ slug: `acme-${Date.now()}`, name: 'Acme' })

const scope = tenantry.withContext({ tenantId: acme.id }) // per request: also actorId, ip, userAgent, requestId
const projects = scope.repo('projects')
const apollo = await projects.create({ name: 'Apollo' })          // tenant_id filled, audited
await projects.update(apollo.id, { name: 'Artemis' })              // one round trip with its audit row
const { items, nextCursor } = await projects.page({ limit: 50 })   // keyset pages: pass nextCursor as `after`
await projects.softDelete(apollo.id)                               // hidden from reads from now on
await scope.transaction(async (tx) => tx.repo('projects').create({ name: 'Gemini' }))

console.log(items.map((p) => p.name), nextCursor, (await projects.findMany()).map((p) => p.name)) // [ 'Artemis' ] null [ 'Gemini' ]
await pool.end()
