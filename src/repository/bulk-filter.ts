import type { RawBuilder, SqlBool } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'
import { isPlainObject } from './input-validation.js'
import { compileWhere, type WhereFilter } from './where-filter.js'

/** Spells "every row of the scope" for a bulk write; `{}` is refused so that it is never an accident. */
export const ALL_ROWS = 'all'

/**
 * The filter of `updateMany` and `softDeleteMany`: a `where` object with at least one condition,
 * or `'all'` for every row in the scope's view.
 *
 * @example
 * await repo.updateMany({ status: 'paused' }, { status: 'active' })
 * await repo.softDeleteMany('all')   // every live row of the tenant, on purpose
 */
export type BulkFilter<Row> = WhereFilter<Row> | typeof ALL_ROWS

/**
 * Checks the shape of a bulk filter before anything is sent: an empty object, a missing filter or
 * one whose only values are `undefined` would otherwise change every row of the tenant.
 */
export function checkBulkFilter(model: TableModel, where: unknown, operation: string): void {
  if (where === ALL_ROWS) return
  if (!isPlainObject(where)) {
    throw new TenantryError('VALIDATION', `${operation}: the filter must be a where object or '${ALL_ROWS}'`, { table: model.name, operation })
  }
  const keys = Object.keys(where)
  if (keys.length === 0 || keys.every((key) => where[key] === undefined)) {
    throw new TenantryError('VALIDATION', `${operation}: the filter has no condition; pass '${ALL_ROWS}' to change every row`, {
      table: model.name,
      operation,
    })
  }
}

/** The predicates of a checked bulk filter (none for `'all'`). */
export function compileBulkFilter(model: TableModel, where: unknown, operation: string): RawBuilder<SqlBool>[] {
  checkBulkFilter(model, where, operation)
  return where === ALL_ROWS ? [] : compileWhere(model, 't', where, operation)
}
