import { sql } from 'kysely'
import { denied, recordFailedWrite } from '../execution/audited-write.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { retrySingle } from '../execution/single-statement-retry.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import type { BuiltinTableName } from '../schema/builtin-tables.js'
import { rowVisibilityCondition, tenantOrSystemPredicate } from '../predicates/row-visibility.js'
import { cachedPermissions } from './permission-cache.js'
import { anyPermissionCovers, parsePermission } from './permission-match.js'
import { builtinModel } from './rbac-scope.js'
import { executeCached } from '../repository/statement-cache.js'

/** Audit action of a refused `scope.require`. */
export const REQUIRE_ACTION = 'rbac.require'

/**
 * Every permission the context's actor holds in the context's tenant, in one statement: an active,
 * live membership of a live user in a live tenant, the actor's `user_roles` in that tenant, and
 * their live roles that belong to that tenant or are system roles (`tenant_id is null`). A role of
 * another tenant grants nothing here even if a `user_roles` row points at it.
 */
async function loadGrantedPermissions(state: RequestState, tenantId: string, actorId: string): Promise<readonly string[]> {
  const s = (table: string) => sql.id(state.runtime.schema, table)
  // Tenants, users and roles are joined by key; the membership's tenant is the one restriction.
  const live = (name: BuiltinTableName, alias: string) => rowVisibilityCondition(builtinModel(state, name), alias, { tenantId: null, view: 'live' })
  const roles = builtinModel(state, 'roles')
  try {
    return await retrySingle(state, () =>
      inUnitOfWork(
        state,
        false,
        async (db) => {
          // Compiled once per instance; each check binds the tenant and the actor.
          const { rows } = await executeCached(
            db,
            builtinModel(state, 'memberships'),
            'granted-permissions',
            [tenantId, actorId],
            (tenant, actor) => sql<{
              permissions: string[]
            }>`
        select r.permissions
          from ${s('memberships')} m
          join ${s('tenants')} t on t.id = m.tenant_id and ${live('tenants', 't')}
          join ${s('users')} u on u.id = m.user_id and ${live('users', 'u')} and u.status not in ('suspended', 'disabled')
          join ${s('user_roles')} ur on ur.tenant_id = m.tenant_id and ur.user_id = m.user_id
          join ${s('roles')} r on r.id = ur.role_id and ${live('roles', 'r')}
                              and ${tenantOrSystemPredicate(roles, 'r', tenant!)}
         where ${rowVisibilityCondition(builtinModel(state, 'memberships'), 'm', { tenantId: tenant!, view: 'live' })}
           and m.user_id = ${actor}::uuid and m.status = 'active'`,
          )
          // One row per granting role; merged here rather than with array_agg(distinct ...) in SQL.
          return Object.freeze([...new Set(rows.flatMap((row) => row.permissions ?? []))])
        },
        { readOnly: true },
      ),
    )
  } catch (error) {
    throw mapDatabaseError(error, 'can')
  }
}

/**
 * `scope.can(permission)`: whether the context's actor holds `permission` in the context's tenant.
 * Malformed permissions are `VALIDATION`; no actor, or a system scope (no tenant), is `false`
 * without SQL. The first check of a scope costs one round trip, later ones none.
 */
export async function checkPermission(state: RequestState, permission: string, operation = 'can'): Promise<boolean> {
  parsePermission(permission, operation)
  const tenantId = state.context?.tenantId
  const actorId = state.context?.actorId
  if (!tenantId || !actorId) return false
  const granted = await cachedPermissions(state, () => loadGrantedPermissions(state, tenantId, actorId))
  return anyPermissionCovers(granted, permission)
}

/**
 * `scope.require(permission)`: like `can`, but a refusal is a `FORBIDDEN` error and a `denied`
 * audit row (written outside any transaction, so it survives the rollback the error causes).
 */
export async function requirePermission(state: RequestState, permission: string): Promise<void> {
  if (await checkPermission(state, permission, 'require')) return
  const error = denied(new TenantryError('FORBIDDEN', `require: permission "${permission}" is not granted in this tenant`, { operation: 'require' }))
  throw await recordFailedWrite(state, error, { action: REQUIRE_ACTION, resourceType: 'permission', resourceId: permission, metadata: { permission } })
}
