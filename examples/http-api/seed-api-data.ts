/** Two tenants and three people to sign in with. Every user's password is `DEMO_PASSWORD`. */
import type { ApiDB } from './api-schema.js'
import { hashPassword } from './password.js'
import type { Tenantry } from '../demo-imports.js'

export const DEMO_PASSWORD = 'correct horse battery staple'

/** Permissions of the example's roles. */
const ROLES = { admin: ['*:*'], editor: ['projects:*', 'audit:read'], viewer: ['*:read'] } as const

export interface SeededApiData {
  tenants: { acme: string; globex: string }
  users: { ada: string; ben: string; gus: string }
}

/**
 * acme: ada (admin), ben (viewer); globex: gus (editor).
 *
 * @example
 * const { users } = await seedApiData(tenantry)
 */
export async function seedApiData(tenantry: Tenantry<ApiDB>): Promise<SeededApiData> {
  const system = tenantry.asSystem({ reason: 'seed the example API' })
  const password_hash = await hashPassword(DEMO_PASSWORD)
  const acme = await system.tenants.create({ slug: 'acme', name: 'Acme Corp' })
  const globex = await system.tenants.create({ slug: 'globex', name: 'Globex' })
  const ada = await system.users.create({ email: 'ada@acme.test', display_name: 'Ada', password_hash })
  const ben = await system.users.create({ email: 'ben@acme.test', display_name: 'Ben', password_hash })
  const gus = await system.users.create({ email: 'gus@globex.test', display_name: 'Gus', password_hash })
  await addMembers(tenantry, acme.id, [
    [ada.id, 'admin'],
    [ben.id, 'viewer'],
  ])
  await addMembers(tenantry, globex.id, [[gus.id, 'editor']])
  return { tenants: { acme: acme.id, globex: globex.id }, users: { ada: ada.id, ben: ben.id, gus: gus.id } }
}

async function addMembers(tenantry: Tenantry<ApiDB>, tenantId: string, members: [string, keyof typeof ROLES][]): Promise<void> {
  await tenantry.withContext({ tenantId, requestId: 'seed' }).transaction(async (tx) => {
    const roles = new Map<string, string>()
    for (const [name, permissions] of Object.entries(ROLES)) roles.set(name, (await tx.roles.create({ name, permissions })).id)
    for (const [userId, role] of members) {
      await tx.memberships.create({ user_id: userId })
      await tx.roles.assign(userId, roles.get(role)!)
    }
  })
}
