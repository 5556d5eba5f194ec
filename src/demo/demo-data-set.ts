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
