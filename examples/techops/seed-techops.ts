/** Two companies running the dashboard, each with a lead, an operator and a support engineer. */
import type { Tenantry } from '../demo-imports.js'
import type { TechopsDB, TechopsTables } from './techops-schema.js'

/** Support handles maintenance requests and sees projects, but not deployments. */
const ROLES = {
  lead: ['*:*'],
  operator: ['deployments:*', 'projects:read', 'maintenance_requests:*'],
  support: ['projects:read', 'maintenance_requests:*'],
} as const

type Person = 'lead' | 'operator' | 'support'

export interface SeededTechops {
  tenants: { northwind: string; contoso: string }
  users: Record<`${'northwind' | 'contoso'}_${Person}`, string>
}

/**
 * @example
 * const { tenants, users } = await seedTechops(tenantry)
 * const scope = tenantry.withContext({ tenantId: tenants.northwind, actorId: users.northwind_operator })
 */
export async function seedTechops(tenantry: Tenantry<TechopsDB, TechopsTables>): Promise<SeededTechops> {
  const system = tenantry.asSystem({ reason: 'seed the operations dashboard' })
  const tenants = {
    northwind: (await system.tenants.create({ slug: 'northwind', name: 'Northwind' })).id,
    contoso: (await system.tenants.create({ slug: 'contoso', name: 'Contoso' })).id,
  }
  const users = {} as SeededTechops['users']
  for (const tenant of ['northwind', 'contoso'] as const) {
    const roleIds = new Map<string, string>()
    await tenantry.withContext({ tenantId: tenants[tenant], requestId: 'seed' }).transaction(async (tx) => {
      for (const [name, permissions] of Object.entries(ROLES)) roleIds.set(name, (await tx.roles.create({ name, permissions: [...permissions] })).id)
    })
    for (const person of ['lead', 'operator', 'support'] as const) {
      const user = await system.users.create({ email: `${person}@${tenant}.test`, display_name: `${tenant} ${person}` })
      users[`${tenant}_${person}`] = user.id
      await tenantry.withContext({ tenantId: tenants[tenant], requestId: 'seed' }).transaction(async (tx) => {
        await tx.memberships.create({ user_id: user.id })
        await tx.roles.assign(user.id, roleIds.get(person)!)
      })
    }
  }
  return { tenants, users }
}
