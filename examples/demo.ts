/**
 * `npm run demo`: tenantry's main job, narrated. Uses DATABASE_URL when set, otherwise starts an
 * embedded PostgreSQL, and leaves nothing behind either way (its tables live in a fresh database).
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pg from 'pg'
import { z } from 'zod'
import { createTenantry, defineTable, isTenantryError, type Generated } from './demo-imports.js'
import { startTestDatabase } from '../src/testing/index.js'

interface DemoDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; budget: number | null; created_at: Generated<Date>; updated_at: Generated<Date>; deleted_at: Date | null }
}

const say = (line: string) => console.log(line)
const step = (title: string) => console.log(`\n── ${title}`)

async function main(): Promise<void> {
  step('Starting PostgreSQL')
  const server = await startTestDatabase({ url: process.env.DATABASE_URL, preferEmbedded: true })
  say(server.source === 'url' ? 'using DATABASE_URL' : `started ${server.source}`)
  const dbName = `tenantry_demo_${randomBytes(4).toString('hex')}`
  const pool = new pg.Pool({ connectionString: await server.cloneDatabase({ name: dbName }), max: 5 })
  try {
    await story(pool)
  } finally {
    await pool.end()
    await server.dropDatabase(dbName)
    await server.stop()
  }
  step('Done: server stopped, demo database dropped')
}

async function story(pool: pg.Pool): Promise<void> {
  const tenantry = createTenantry<DemoDB>({
    pool,
    tables: {
      projects: defineTable<DemoDB, 'projects'>({
        table: 'projects',
        softDelete: 'deleted_at',
        insert: z.object({ name: z.string().min(1), budget: z.number().int().nonnegative().optional() }),
        audit: { exclude: ['budget'] },
      }),
    },
  })

  step('Migrating the bundled schema')
  const { results, error } = await tenantry.migrate()
  if (error) throw error
  say(`applied ${results.length} migrations into schema "${tenantry.schema}"`)
  await sql`create table projects (
    id uuid primary key default gen_random_uuid(), tenant_id uuid not null references tenantry.tenants(id),
    name text not null, budget int, created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(), deleted_at timestamptz)`.execute(tenantry.kysely)

  step('Two tenants, created by an explicit, audited system scope')
  const system = tenantry.asSystem({ reason: 'demo onboarding' })
  const acme = await system.tenants.create({ slug: 'acme', name: 'Acme Corp' })
  const globex = await system.tenants.create({ slug: 'globex', name: 'Globex' })
  say(`acme = ${acme.id}\nglobex = ${globex.id}`)

  step('Each tenant writes through its own scope; tenant_id is filled for them')
  const acmeProjects = tenantry.withContext({ tenantId: acme.id, requestId: 'req-1' }).repo('projects')
  const globexProjects = tenantry.withContext({ tenantId: globex.id }).repo('projects')
  const apollo = await acmeProjects.create({ name: 'Apollo', budget: 1_000_000 })
  await globexProjects.create({ name: 'Hammock District' })
  say(`acme sees ${await acmeProjects.count()} project, globex sees ${await globexProjects.count()}`)

  step('Globex tries to read and rename an Acme project')
  say(`globex findById(apollo) -> ${await globexProjects.findById(apollo.id)}`)
  try {
    await globexProjects.update(apollo.id, { name: 'Mine now' })
  } catch (error) {
    if (!isTenantryError(error)) throw error
    say(`globex update(apollo) -> ${error.code} (indistinguishable from a missing row, audited as denied)`)
  }

  step('Soft delete and restore')
  await acmeProjects.softDelete(apollo.id)
  say(`after softDelete: count=${await acmeProjects.count()}, onlyDeleted=${await acmeProjects.onlyDeleted().count()}`)
  await acmeProjects.restore(apollo.id)
  say(`after restore: count=${await acmeProjects.count()}`)

  step('The audit trail (budget is excluded from it)')
  const rows = await system.auditLog.list({ limit: 20 })
  console.table(
    rows.items.reverse().map((e) => ({ action: e.action, outcome: e.outcome, tenant: e.tenantId?.slice(0, 8) ?? '-', changed: e.changedFields?.join(',') ?? '', error: e.errorCode ?? '' })),
  )
}

main().catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
