import { sql, type Kysely, type SqlBool } from 'kysely'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { AUDIT_COLUMN, auditedWrite, collectAuditEvents, denied } from '../execution/audited-write.js'
import { deleteStatement } from '../repository/write-statements.js'
import { rowVisibilityCondition, tenantOrSystemPredicate } from '../predicates/row-visibility.js'
import { invalidatePermissions } from './permission-cache.js'
import { builtinModel, checkUuid, resolveTenant } from './rbac-scope.js'
import type { UserRoleRow } from './role-input.js'
import { checkOptionKeys } from '../validation/strict-options.js'

/** Options of `assign`/`unassign`. */
export interface RoleAssignmentOptions {
  /** Required in a system scope; in a tenant scope it may only repeat the scope's tenant. */
  tenantId?: string
}

export const ASSIGN_ACTION = 'roles.assign'
export const UNASSIGN_ACTION = 'roles.unassign'
const ASSIGNED_COLUMNS = ['tenant_id', 'user_id', 'role_id']

interface AssignResult extends Partial<UserRoleRow> {
  is_member: boolean
  role_in_scope: boolean
  is_new: boolean | null
}

/**
 * Gives a member a role, in one statement with its audit row: the insert happens only when the
 * user has a live membership of the tenant and the role is a live role of that tenant or a system
 * role. Assigning a role the member already holds returns the existing row and writes nothing.
 */
export async function assignRole(state: RequestState, userId: unknown, roleId: unknown, options: RoleAssignmentOptions = {}): Promise<UserRoleRow> {
  const operation = 'roles.assign'
  checkOptionKeys(options, ['tenantId'], operation)
  const user = checkUuid(userId, 'userId', operation)
  const role = checkUuid(roleId, 'roleId', operation)
  const tenantId = await resolveTenant(state, options.tenantId, operation, ASSIGN_ACTION)
  await state.runtime.ready()
  const s = (table: string) => sql.id(state.runtime.schema, table)
  const model = builtinModel(state, 'user_roles')
  const roles = builtinModel(state, 'roles')
  const failure = () => ({ action: ASSIGN_ACTION, resourceType: 'user_roles', resourceId: null, tenantId })
  const settle = () => invalidatePermissions(state)
  const row = await auditedWrite(state, { operation, failure, settle }, async (db, inner, events) => {
    const audit = auditInsertFromCte(inner, model, ASSIGN_ACTION, { after: 'created', before: null, createdFields: ASSIGNED_COLUMNS })
    const { rows } = await sql<AssignResult & Record<string, unknown>>`
      with member as (
        select 1 from ${s('memberships')} m
         where ${rowVisibilityCondition(builtinModel(state, 'memberships'), 'm', { tenantId, view: 'live' })} and m.user_id = ${user}::uuid),
      role as (
        select 1 from ${s('roles')} r
         where r.id = ${role}::uuid and ${rowVisibilityCondition(roles, 'r', { tenantId: null, view: 'live' })}
           and ${tenantOrSystemPredicate(roles, 'r', tenantId)}),
      created as (
        insert into ${s('user_roles')} (tenant_id, user_id, role_id)
        select ${tenantId}::uuid, ${user}::uuid, ${role}::uuid
         where exists (select 1 from member) and exists (select 1 from role)
        on conflict (tenant_id, user_id, role_id) do nothing
        returning *),
      audit as (${audit}),
      assigned as (
        select c.*, true as is_new from created c
        union all
        select e.*, false from ${s('user_roles')} e
         where ${rowVisibilityCondition(model, 'e', { tenantId, view: 'all' })} and e.user_id = ${user}::uuid and e.role_id = ${role}::uuid)
      select exists (select 1 from member) as is_member, exists (select 1 from role) as role_in_scope,
             a.id, a.tenant_id, a.user_id, a.role_id, a.created_at, a.updated_at, a.is_new,
             (select to_jsonb(x) from audit x) as ${sql.id(AUDIT_COLUMN)}
        from (select 1) as one left join assigned a on true`.execute(db)
    const [result] = collectAuditEvents(rows, events)
    if (!result?.is_member) throw new TenantryError('NOT_FOUND', `${operation}: the user is not a member of this tenant`, { table: 'user_roles', operation })
    if (!result.role_in_scope) {
      // Possibly another tenant's role: audited as denied, like a write aimed at another tenant's row.
      throw denied(new TenantryError('NOT_FOUND', `${operation}: no such role in this tenant`, { table: 'roles', operation }))
    }
    return result.id ? result : await assignedRow(db, state, tenantId, user, role)
  })
  return toUserRole(row)
}

/** The assignment a concurrent `assign` inserted between our snapshot and our insert. */
async function assignedRow(db: Kysely<any>, state: RequestState, tenantId: string, user: string, role: string): Promise<Record<string, unknown>> {
  const { rows } = await sql<Record<string, unknown>>`select * from ${sql.id(state.runtime.schema, 'user_roles')} e
    where ${rowVisibilityCondition(builtinModel(state, 'user_roles'), 'e', { tenantId, view: 'all' })}
      and e.user_id = ${user}::uuid and e.role_id = ${role}::uuid`.execute(db)
  if (!rows[0])
    throw new TenantryError('CONFLICT', 'roles.assign: the assignment changed concurrently; retry', { table: 'user_roles', operation: 'roles.assign' })
  return rows[0]
}

function toUserRole(row: Record<string, unknown>): UserRoleRow {
  const { id, tenant_id, user_id, role_id, created_at, updated_at } = row as unknown as UserRoleRow
  return { id, tenant_id, user_id, role_id, created_at, updated_at }
}

/**
 * Takes a role from a member, in one statement with its audit row (the removed row as
 * `old_values`). Returns whether the member held the role.
 */
export async function unassignRole(state: RequestState, userId: unknown, roleId: unknown, options: RoleAssignmentOptions = {}): Promise<boolean> {
  const operation = 'roles.unassign'
  checkOptionKeys(options, ['tenantId'], operation)
  const user = checkUuid(userId, 'userId', operation)
  const role = checkUuid(roleId, 'roleId', operation)
  const tenantId = await resolveTenant(state, options.tenantId, operation, UNASSIGN_ACTION)
  await state.runtime.ready()
  const model = builtinModel(state, 'user_roles')
  const failure = () => ({ action: UNASSIGN_ACTION, resourceType: 'user_roles', resourceId: null, tenantId })
  const settle = () => invalidatePermissions(state)
  const removed = await auditedWrite(state, { operation, failure, settle }, async (db, inner, events) => {
    const statement = deleteStatement(
      inner,
      model,
      { visibility: { tenantId, view: 'all' }, filters: [sql<SqlBool>`t.user_id = ${user}::uuid`, sql<SqlBool>`t.role_id = ${role}::uuid`] },
      UNASSIGN_ACTION,
      { audited: true, wantEvents: true },
    )
    const { rows } = await statement.execute(db)
    return collectAuditEvents(rows, events)
  })
  return removed.length > 0
}
