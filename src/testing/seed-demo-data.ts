import { createFixtures } from './create-fixtures.js'
import type { FixtureTenantry } from './fixture-host.js'
import type { RoleRow, TenantRow, UserRow } from './fixture-types.js'

/** One role of the demo set: permission strings as the source systems write them. */
export interface DemoRole {
  permissions: string[]
  description: string
}

export interface DemoUser {
  email: string
  display_name: string
  /** Tenant slug → role names in that tenant. More than one tenant makes a cross-tenant user. */
  memberships: Record<string, string[]>
}

export interface DemoTenant {
  slug: string
  name: string
  type: string
  status: 'active' | 'pending'
  metadata: Record<string, unknown>
}

/**
 * The demo data set: an enterprise tenant and a trial tenant, the roles every tenant of the source
 * systems had, a few users per tenant and a consultant who works for both.
 */
export const demoDataSet: { roles: Record<string, DemoRole>; tenants: DemoTenant[]; users: DemoUser[] } = {
  roles: {
    admin: { permissions: ['*:*'], description: 'Everything in the tenant, including members and roles' },
    operator: {
      permissions: ['projects:*', 'devices:*', 'work_orders:*', 'reports:read'],
      description: 'Day-to-day work: projects, devices and work orders',
    },
    viewer: { permissions: ['*:read'], description: 'Reads everything, changes nothing' },
  },
  tenants: [
    {
      slug: 'northwind',
      name: 'Northwind Industries',
      type: 'enterprise',
      status: 'active',
      metadata: { plan: 'enterprise', seats: 250, sso: 'saml', region: 'eu-central' },
    },
    {
      slug: 'bluebird-trial',
      name: 'Bluebird Salon Studio',
      type: 'trial',
      status: 'active',
      metadata: { plan: 'trial', seats: 5, trialDays: 14 },
    },
  ],
  users: [
    { email: 'olivia.chen@northwind.example.com', display_name: 'Olivia Chen', memberships: { northwind: ['admin'] } },
    { email: 'marcus.weber@northwind.example.com', display_name: 'Marcus Weber', memberships: { northwind: ['operator'] } },
    { email: 'priya.nair@northwind.example.com', display_name: 'Priya Nair', memberships: { northwind: ['viewer'] } },
    { email: 'lena.okafor@bluebird.example.org', display_name: 'Lena Okafor', memberships: { 'bluebird-trial': ['admin'] } },
    { email: 'tomas.silva@bluebird.example.org', display_name: 'Tomas Silva', memberships: { 'bluebird-trial': ['operator'] } },
    {
      email: 'sam.rivera@consulting.example.net',
      display_name: 'Sam Rivera (consultant)',
      memberships: { northwind: ['operator'], 'bluebird-trial': ['admin'] },
    },
  ],
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
 * the demo tenants and changes nothing unless `reset` is set.
 *
 * @example
 * await tenantry.migrate()
 * const { tenants, users } = await seedDemoData(tenantry, { reset: true })
 */
export async function seedDemoData(tenantry: FixtureTenantry, options: SeedDemoDataOptions = {}): Promise<SeedDemoDataResult> {
  const system = tenantry.asSystem({ reason: REASON })
  const slugs = demoDataSet.tenants.map((t) => t.slug)
  const existing = await system.tenants.findMany({ where: { slug: slugs } })
  if (existing.length > 0 && !options.reset) return { seeded: false, tenants: existing, users: [], roles: [], sessionIds: [] }
  if (options.reset) await purgeDemoData(tenantry)

  const fx = createFixtures(tenantry, { seed: 'tenantry-demo', namespace: '', reason: REASON, defaultRoles: false })
  const tenants = new Map<string, TenantRow>()
  const roles: RoleRow[] = []
  for (const tenant of demoDataSet.tenants) {
    const row = await fx.tenant(tenant)
    tenants.set(tenant.slug, row)
    for (const [name, role] of Object.entries(demoDataSet.roles)) roles.push(await fx.role({ tenant: row, name, ...role }))
  }
  const users: UserRow[] = []
  const sessionIds: string[] = []
  const tokens = tenantry.tokens
  for (const { memberships, ...identity } of demoDataSet.users) {
    const [first, ...others] = Object.entries(memberships)
    const user = await fx.user({ ...identity, tenant: tenants.get(first![0])!, roles: first![1] })
    for (const [slug, roleNames] of others) await fx.membership({ user, tenant: tenants.get(slug)!, roles: roleNames })
    const { membership: _membership, roles: _roles, ...row } = user
    users.push(row)
    if (options.sessions !== false && tokens) {
      for (const slug of Object.keys(memberships)) {
        sessionIds.push((await fx.session({ user, tenant: tenants.get(slug)!, clientId: 'demo-seed' })).sessionId)
      }
    }
  }
  return { seeded: true, tenants: [...tenants.values()], users, roles, sessionIds }
}

/** Purges the demo tenants and users; memberships, roles and sessions go with them (cascade). */
async function purgeDemoData(tenantry: FixtureTenantry): Promise<void> {
  const system = tenantry.asSystem({ reason: `${REASON} (reset)` })
  const tenants = await system.tenants.withDeleted().findMany({ where: { slug: demoDataSet.tenants.map((t) => t.slug) } })
  for (const tenant of tenants) await system.tenants.purge(tenant.id)
  const users = await system.users.withDeleted().findMany({ where: { email: demoDataSet.users.map((u) => u.email) } })
  for (const user of users) await system.users.purge(user.id)
}
