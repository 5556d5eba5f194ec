import { z } from 'zod'
import { denied, recordFailedWrite } from '../execution/audited-write.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import type { BuiltinTableName } from '../schema/builtin-tables.js'
import type { TableModel } from '../schema/table-model.js'

export const uuid = z.uuid()

/** Checks a uuid argument before any SQL; the message names the argument, never the value. */
export function checkUuid(value: unknown, what: string, operation: string): string {
  if (!uuid.safeParse(value).success) throw new TenantryError('VALIDATION', `${operation}: ${what} must be a uuid`, { operation })
  return (value as string).toLowerCase()
}

/**
 * The tenant an RBAC write acts in: the scope's own tenant, or in a system scope the `tenantId`
 * the caller names. A tenant scope naming another tenant is refused and audited as `denied`.
 */
export async function resolveTenant(state: RequestState, tenantId: unknown, operation: string, action: string): Promise<string> {
  const own = requestTenantId(state)
  if (own === null) {
    if (tenantId === undefined || tenantId === null) {
      throw new TenantryError('VALIDATION', `${operation}: a system scope must name the tenant ({ tenantId })`, { operation })
    }
    return checkUuid(tenantId, 'tenantId', operation)
  }
  if (tenantId === undefined || tenantId === null || (typeof tenantId === 'string' && tenantId.toLowerCase() === own)) return own
  const error = denied(new TenantryError('FORBIDDEN', `${operation}: tenantId may only name the scope's own tenant`, { operation }))
  throw await recordFailedWrite(state, error, { action, resourceType: null, resourceId: null })
}

/** A built-in table model (`roles`, `user_roles`, `memberships`, ...), for its scope predicates and audit rows. */
export function builtinModel(state: RequestState, name: BuiltinTableName): TableModel {
  const model = state.runtime.builtins.get(name)
  if (!model) throw new TenantryError('CONFIGURATION', `built-in table "${name}" is not configured`)
  return model
}
