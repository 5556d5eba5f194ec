import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import { denied, recordFailedWrite } from './audited-write.js'

/** What a statement does with a table: `read` (select, join, subquery) or `write` (insert, update, delete). */
export type TableAccess = 'read' | 'write'

/** Where a refusal is recorded: the audit action and, when one row was aimed at, its id. */
export interface AccessRefusal {
  /** `projects.findMany`, `projects.update`, `scope.db.select`. */
  action: string
  resourceId?: string | null
}

/**
 * The permissions a table declares for `access` (`defineTable({ permissions })`), all required;
 * `null` when it declares none. Callers test `model.definition.permissions` first, so a table
 * without permissions costs one field read.
 */
export function declaredPermissions(model: TableModel, access: TableAccess): readonly string[] | null {
  const declared = model.definition.permissions?.[access]
  if (declared === undefined) return null
  return typeof declared === 'string' ? [declared] : declared
}

/**
 * Checks the permissions a table declares for `access` against the scope's actor, the way
 * `scope.require` does: from the scope's cached grants (one round trip for the first check of a
 * scope, none after), and a refusal is `FORBIDDEN` naming the permission with a `denied` audit row
 * that survives the rollback. A system scope (`asSystem`) is not checked: it has no actor whose
 * roles could grant anything, and its writes are audited with its reason. A tenant context without
 * an actor holds no permission.
 *
 * @example
 * if (model.definition.permissions) await authorizeTableAccess(state, model, 'read', { action: 'projects.findMany' })
 */
export async function authorizeTableAccess(state: RequestState, model: TableModel, access: TableAccess, refusal: AccessRefusal): Promise<void> {
  if (state.system !== null) return
  const required = declaredPermissions(model, access)
  if (required === null) return
  for (const permission of required) {
    if (await state.runtime.hasPermission(state, permission)) continue
    const doing = access === 'read' ? 'reading' : 'writing'
    const error = denied(
      new TenantryError('FORBIDDEN', `${refusal.action}: ${doing} ${model.name} needs permission "${permission}", not granted in this tenant`, {
        table: model.name,
        operation: refusal.action,
      }),
    )
    throw await recordFailedWrite(state, error, {
      action: refusal.action,
      resourceType: model.name,
      resourceId: refusal.resourceId ?? null,
      metadata: { permission, access },
    })
  }
}
