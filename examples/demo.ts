/**
 * `npm run demo`: tenantry's main job, told as a story. Without DATABASE_URL it starts an embedded
 * PostgreSQL; with it, it works in a throwaway database (or, without CREATEDB, in throwaway
 * schemas) on that server. Either way it leaves nothing behind.
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import { createTenantry, defineTable, isTenantryError, type Generated, type Tenantry } from './demo-imports.js'
import { openDemoDatabase, type DemoDatabase } from './support/demo-database.js'
import { refusal, say, short, step, table } from './support/narrate.js'

interface DemoDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    budget: number | null
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
}

const refused = (fn: () => Promise<unknown>) => refusal(fn, isTenantryError)

async function main(): Promise<void> {
  step('Starting PostgreSQL')
  const demo = await openDemoDatabase('tenantry_demo')
  say(`running on ${demo.description}`)
  try {
    await story(demo)
  } finally {
    await demo.close()
  }
  step(`Done: ${demo.source === 'url' ? 'demo database (or schemas) dropped' : 'server stopped, nothing left behind'}`)
}

async function story(demo: DemoDatabase): Promise<void> {
  const tenantry = createTenantry<DemoDB>({
    pool: demo.pool,
    schema: demo.schema,
    tables: {
      projects: defineTable<DemoDB, 'projects'>({
        schema: demo.hostSchema,
        table: 'projects',
        softDelete: 'deleted_at',
        insert: z.object({ name: z.string().min(1), budget: z.number().int().nonnegative().optional() }),
        audit: { exclude: ['budget'] },
      }),
    },
    // A random key per run; a real application reads it from its secrets (TOKEN_HMAC_KEY).
    tokens: { keys: { demo: randomBytes(32) }, graceMs: 10_000 },
  })

  step('Migrating the bundled schema, creating a host table')
  const { results, error } = await tenantry.migrate()
  if (error) throw error
  await createProjectsTable(tenantry, demo)
  say(`applied ${results.length} migrations into schema "${tenantry.schema}"; created ${demo.hostSchema}.projects`)

  step('Two tenants and their people (an explicit, audited system scope)')
  const system = tenantry.asSystem({ reason: 'demo onboarding' })
  const acme = await system.tenants.create({ slug: 'acme', name: 'Acme Corp' })
  const globex = await system.tenants.create({ slug: 'globex', name: 'Globex' })
  const alice = await system.users.create({ email: 'alice@acme.test', display_name: 'Alice' })
  const bob = await system.users.create({ email: 'bob@acme.test', display_name: 'Bob' })
  const gina = await system.users.create({ email: 'gina@globex.test', display_name: 'Gina' })
  const acmeRoles = await onboard(tenantry, acme.id, [
    [alice.id, 'admin'],
    [bob.id, 'viewer'],
  ])
  await onboard(tenantry, globex.id, [[gina.id, 'admin']])
  say(`acme:   alice (admin), bob (viewer)    roles: ${acmeRoles}`)
  say(`globex: gina (admin)`)

  const asAlice = tenantry.withContext({ tenantId: acme.id, actorId: alice.id, ip: '203.0.113.7', requestId: 'req-alice' })
  const asBob = tenantry.withContext({ tenantId: acme.id, actorId: bob.id, requestId: 'req-bob' })
  const asGina = tenantry.withContext({ tenantId: globex.id, actorId: gina.id, requestId: 'req-gina' })

  step('Permissions are checked per tenant')
  say(`alice can projects:write in acme   -> ${await asAlice.can('projects:write')}`)
  say(`bob   can projects:write in acme   -> ${await asBob.can('projects:write')}   (viewer: *:read)`)
  say(`bob   require('projects:write')    -> ${await refused(() => asBob.require('projects:write'))} (audited as denied)`)
  const ginaInAcme = tenantry.withContext({ tenantId: acme.id, actorId: gina.id })
  say(`gina  can projects:write in acme   -> ${await ginaInAcme.can('projects:write')}  (admin of globex only)`)

  step('Each tenant writes through its own scope; tenant_id is filled in')
  const apollo = await asAlice.repo('projects').create({ name: 'Apollo', budget: 1_000_000 })
  await asGina.repo('projects').create({ name: 'Hammock District' })
  say(`acme sees ${await asAlice.repo('projects').count()} project, globex sees ${await asGina.repo('projects').count()}`)

  step('Globex reaches for an Acme project')
  say(`gina findById(apollo)           -> ${await asGina.repo('projects').findById(apollo.id)}`)
  say(
    `gina update(apollo, 'Mine now') -> ${await refused(() => asGina.repo('projects').update(apollo.id, { name: 'Mine now' }))} (like a missing row; audited as denied)`,
  )
  const untouched = await asAlice.repo('projects').getById(apollo.id)
  say(`apollo is still called "${untouched.name}"`)

  step('Soft delete and restore')
  await asAlice.repo('projects').softDelete(apollo.id)
  say(`after softDelete: count=${await asAlice.repo('projects').count()}, onlyDeleted().count()=${await asAlice.repo('projects').onlyDeleted().count()}`)
  await asAlice.repo('projects').restore(apollo.id)
  say(`after restore:    count=${await asAlice.repo('projects').count()}`)

  step('Refresh tokens: rotation, a retry in the grace window, a replay caught')
  const login = await tenantry.tokens.issue({ userId: alice.id, tenantId: acme.id, ip: '203.0.113.7', clientId: 'web' })
  const second = await tenantry.tokens.rotate(login.token)
  const retried = await tenantry.tokens.rotate(login.token)
  say(`login -> ${short(login.token, 12)}  rotate -> ${short(second.token, 12)}`)
  say(`retry of the same token within 10 s -> ${retried.token === second.token ? 'the same successor (no second branch)' : 'a new branch (unexpected!)'}`)
  const third = await tenantry.tokens.rotate(second.token)
  say(`rotate again -> ${short(third.token, 12)}`)
  say(`replay of the first token           -> ${await refused(() => tenantry.tokens.rotate(login.token))}: the whole session is revoked`)
  say(`the newest token now                -> ${await refused(() => tenantry.tokens.rotate(third.token))}`)

  step('The audit trail')
  await printAuditTrail(tenantry, { [acme.id]: 'acme', [globex.id]: 'globex' }, { [alice.id]: 'alice', [bob.id]: 'bob', [gina.id]: 'gina' })
}

/** The host's own table, with a partial unique key and tenantry's updated_at trigger. */
async function createProjectsTable(tenantry: Tenantry<DemoDB>, demo: DemoDatabase): Promise<void> {
  const projects = sql.id(demo.hostSchema, 'projects')
  await sql`create table ${projects} (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references ${sql.id(demo.schema, 'tenants')} (id),
    name text not null,
    budget int,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz)`.execute(tenantry.kysely)
  await sql`create unique index on ${projects} (tenant_id, name) where deleted_at is null`.execute(tenantry.kysely)
  await sql`select ${sql.id(demo.schema, 'install_updated_at_trigger')}(${`${demo.hostSchema}.projects`}::regclass)`.execute(tenantry.kysely)
}

/** Seeds a tenant's roles and makes each user a member holding one of them. Returns the role names. */
async function onboard(tenantry: Tenantry<DemoDB>, tenantId: string, members: [userId: string, role: string][]): Promise<string> {
  const scope = tenantry.withContext({ tenantId, requestId: 'onboarding' })
  const { roles } = await scope.roles.seedDefaultRoles({ admin: ['*:*'], viewer: ['*:read'] })
  for (const [userId, role] of members) {
    await scope.memberships.create({ user_id: userId })
    await scope.roles.assign(userId, roles[role]!.id)
  }
  return Object.keys(roles).join(', ')
}

const SETUP = /^(tenants|users|memberships|roles|user_roles)\./

async function printAuditTrail(tenantry: Tenantry<DemoDB>, tenants: Record<string, string>, actors: Record<string, string>): Promise<void> {
  const { items } = await tenantry.asSystem({ reason: 'demo: print the audit trail' }).auditLog.list({ limit: 100 })
  const shown = items.filter((e) => !SETUP.test(e.action)).reverse()
  table(
    shown.map((e) => ({
      action: e.action,
      outcome: e.outcome,
      tenant: (e.tenantId && tenants[e.tenantId]) ?? '-',
      actor: (e.actorUserId && actors[e.actorUserId]) ?? '-',
      changed: e.changedFields?.join(',') ?? '',
      error: e.errorCode ?? '',
    })),
  )
  say(`(${items.length - shown.length} setup rows not shown; budget is excluded: its name may appear in changed, its value never)`)
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${isTenantryError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
