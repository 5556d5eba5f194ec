import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'

/** Inserts a user directly and returns its id. */
export async function insertUser(db: Kysely<any>, status = 'active'): Promise<string> {
  const row = await db
    .insertInto('tenantry.users')
    .values({ email: `u-${randomUUID()}@example.com`, status })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id as string
}

/** Makes `userId` a member of `tenantId`. */
export async function insertMembership(db: Kysely<any>, tenantId: string, userId: string, status = 'active'): Promise<string> {
  const row = await db.insertInto('tenantry.memberships').values({ tenant_id: tenantId, user_id: userId, status }).returning('id').executeTakeFirstOrThrow()
  return row.id as string
}

/** Inserts a role directly (`tenantId` null: a system role) and returns its id. */
export async function insertRole(db: Kysely<any>, tenantId: string | null, permissions: string[], name = `role-${randomUUID()}`): Promise<string> {
  const row = await db.insertInto('tenantry.roles').values({ tenant_id: tenantId, name, permissions }).returning('id').executeTakeFirstOrThrow()
  return row.id as string
}

/** Links a user to a role in a tenant directly, bypassing every check (as plain SQL could). */
export async function insertUserRole(db: Kysely<any>, tenantId: string, userId: string, roleId: string): Promise<void> {
  await db.insertInto('tenantry.user_roles').values({ tenant_id: tenantId, user_id: userId, role_id: roleId }).execute()
}

/** Audit rows of one action, oldest first. */
export function auditRows(db: Kysely<any>, action: string): Promise<Record<string, any>[]> {
  return db.selectFrom('tenantry.audit_logs').selectAll().where('action', '=', action).orderBy('created_at').orderBy('id').execute()
}
