import { denied } from '../execution/audited-write.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'

/**
 * Whether `values` name, in the tenant column, a tenant other than the scope's `tenantId`: the one
 * test of caller input and hook replacements alike. A system scope (`null`) may name any tenant.
 */
export function namesAnotherTenant(model: TableModel, tenantId: string | null, values: Record<string, unknown>): boolean {
  const column = model.tenantColumn
  if (!column || tenantId === null || !(column in values)) return false
  const named = values[column]
  return !(typeof named === 'string' && named.toLowerCase() === tenantId)
}

/**
 * A patch a `beforeUpdate` hook returned, held to the rule a caller's patch follows: the tenant
 * column may only repeat the scope's own tenant (which changes nothing, so it is dropped); naming
 * another tenant is `FORBIDDEN` and audited as `denied`. A system scope's patch never moves a row
 * either: the column is dropped, as from a caller's patch.
 *
 * @example
 * const patch = tenantSafeReplacement(model, tenantId, replaced, 'projects.update')
 */
export function tenantSafeReplacement(
  model: TableModel,
  tenantId: string | null,
  replaced: Record<string, unknown>,
  operation: string,
): Record<string, unknown> {
  const column = model.tenantColumn
  if (!column || !(column in replaced)) return replaced
  if (namesAnotherTenant(model, tenantId, replaced)) {
    throw denied(
      new TenantryError('FORBIDDEN', `${operation}: beforeUpdate may not move a row to another tenant ("${column}")`, {
        table: model.name,
        column,
        operation,
      }),
    )
  }
  const { [column]: _sameTenant, ...rest } = replaced
  return rest
}
