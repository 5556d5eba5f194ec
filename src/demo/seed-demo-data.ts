import type { Selectable } from 'kysely'
import type { BuiltinDatabase } from '../schema/builtin-database.js'
import type { TokenService } from '../tokens/index.js'
import { demoDataSet } from './demo-data-set.js'

type TenantRow = Selectable<BuiltinDatabase['tenants']>
type UserRow = Selectable<BuiltinDatabase['users']>
type RoleRow = Selectable<BuiltinDatabase['roles']>

/** The repository calls the seed makes, as a plain interface (see `DemoSeedHost`). */
export interface DemoRepository<Row = any> {
  create(input: any): Promise<Row>
  findMany(options?: { where?: Record<string, unknown> }): Promise<Row[]>
  purge(id: string): Promise<Row>
  withDeleted(): DemoRepository<Row>
}

/** The parts of an `asSystem` scope the seed uses. */
export interface DemoScope {
  readonly tenants: DemoRepository
  readonly users: DemoRepository
  readonly memberships: DemoRepository
  readonly roles: DemoRepository & { assign(userId: string, roleId: string, options?: { tenantId?: string }): Promise<unknown> }
  transaction<T>(fn: (tx: DemoScope) => Promise<T>): Promise<T>
}

/**
 * What `seedDemoData` accepts: a `Tenantry` made by `createTenantry`. Typed structurally, as
 * `tenantry/testing` (a bundle of its own) re-exports the seed and must accept an instance made
 * from `tenantry`, whose class its private fields make nominal.
 */
export interface DemoSeedHost {
  asSystem(actor: { actorId?: string | null; reason: string }): DemoScope
  readonly tokens?: Pick<TokenService, 'issue'>
}

export interface SeedDemoDataOptions {
  /** Purge the demo tenants and users first (audited), then load them again. */
  reset?: boolean
  /** Open one session (refresh token) per membership through `tenantry.tokens`. Defaults to true. */
  sessions?: boolean
}

export interface SeedDemoDataResult {
  /** `false` when the demo tenants were already there and `reset` was not asked for. */
  seeded: boolean
  tenants: TenantRow[]
  users: UserRow[]
  roles: RoleRow[]
  /** Session ids (never the tokens) of the sessions opened. */
  sessionIds: string[]
}

const REASON = 'demo data seed'

/**
 * Loads `demoDataSet` through tenantry (audited system scope; tenants, users, memberships, roles
 * and, when tokens are available, sessions). Migrate first. Safe to run twice: a second run finds
 * the demo tenants and changes nothing unless `reset` is set. Used by `npx tenantry seed --demo`
 * and exported from `tenantry/testing`.
 *
 * @example
 * await tenantry.migrate()
 * const { tenants, users } = await seedDemoData(tenantry, { reset: true })
 */
export async function seedDemoData(tenantry: DemoSeedHost, options: SeedDemoDataOptions = {}): Promise<SeedDemoDataResult> {
  const system = tenantry.asSystem({ reason: REASON })
  const slugs = demoDataSet.tenants.map((t) => t.slug)
  const existing: TenantRow[] = await system.tenants.findMany({ where: { slug: slugs } })
  if (existing.length > 0 && !options.reset) return { seeded: false, tenants: existing, users: [], roles: [], sessionIds: [] }
  if (options.reset) await purgeDemoData(tenantry)

  const tenants = new Map<string, { row: TenantRow; roles: Map<string, RoleRow> }>()
  for (const tenant of demoDataSet.tenants) {
    // A tenant and its roles in one transaction: a failure leaves no tenant without roles.
    const seeded = await system.transaction(async (tx) => {
      const row: TenantRow = await tx.tenants.create(tenant)
      const roles = new Map<string, RoleRow>()
      for (const [name, role] of Object.entries(demoDataSet.roles)) {
        roles.set(name, await tx.roles.create({ tenant_id: row.id, name, permissions: role.permissions, description: role.description }))
      }
      return { row, roles }
    })
    tenants.set(tenant.slug, seeded)
  }

  const users: UserRow[] = []
  const sessionIds: string[] = []
  for (const { memberships, ...identity } of demoDataSet.users) {
    // A user with every membership and role grant, in one transaction; grants go through
    // `roles.assign`, as the host's own code would, so they are audited as `roles.assign`.
    const user = await system.transaction(async (tx) => {
      const row: UserRow = await tx.users.create(identity)
      for (const [slug, roleNames] of Object.entries(memberships)) {
        const tenant = tenants.get(slug)!
        await tx.memberships.create({ tenant_id: tenant.row.id, user_id: row.id })
        for (const name of roleNames) await tx.roles.assign(row.id, tenant.roles.get(name)!.id, { tenantId: tenant.row.id })
      }
      return row
    })
    users.push(user)
    if (options.sessions !== false && tenantry.tokens) {
      for (const slug of Object.keys(memberships)) {
        const issued = await tenantry.tokens.issue({ userId: user.id, tenantId: tenants.get(slug)!.row.id, clientId: 'demo-seed' })
        sessionIds.push(issued.sessionId)
      }
    }
  }
  const all = [...tenants.values()]
  return { seeded: true, tenants: all.map((t) => t.row), users, roles: all.flatMap((t) => [...t.roles.values()]), sessionIds }
}

/** Purges the demo tenants and users; memberships, roles and sessions go with them (cascade). */
async function purgeDemoData(tenantry: DemoSeedHost): Promise<void> {
  const system = tenantry.asSystem({ reason: `${REASON} (reset)` })
  const tenants: TenantRow[] = await system.tenants.withDeleted().findMany({ where: { slug: demoDataSet.tenants.map((t) => t.slug) } })
  for (const tenant of tenants) await system.tenants.purge(tenant.id)
  const users: UserRow[] = await system.users.withDeleted().findMany({ where: { email: demoDataSet.users.map((u) => u.email) } })
  for (const user of users) await system.users.purge(user.id)
}
