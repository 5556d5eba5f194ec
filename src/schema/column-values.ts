import { isOperationNodeSource } from 'kysely'
import { columnError } from '../errors/validation-error.js'
import type { TableModel } from './table-model.js'
import { checkJsonValue, refuseNulBytes } from '../validation/text-value.js'

/**
 * Checks one value bound for a column before any SQL: json/jsonb columns get JSON that PostgreSQL
 * accepts (no BigInt, function, circular structure or NUL byte); every other column gets data, not
 * a Kysely expression, `sql` template or function (which would reach the SQL text or bind as
 * nonsense), and no NUL byte in its text (also inside arrays). Errors name the column, never the value.
 *
 * @example
 * checkColumnValue(model, 'name', 'a\u0000b', 'projects.create') // VALIDATION, column "name"
 */
export function checkColumnValue(model: TableModel, column: string, value: unknown, operation: string): void {
  if (value === null || value === undefined) return
  const type = model.columns.get(column)?.type
  if (type === 'json' || type === 'jsonb') {
    checkJsonValue(value, operation, { column, table: model.name })
    return
  }
  if (isSqlOrFunction(value) || (Array.isArray(value) && value.some(isSqlOrFunction))) {
    throw columnError(`${operation}: the value of column "${column}" must be data, not an SQL expression or a function`, column, {
      table: model.name,
      operation,
    })
  }
  refuseNulBytes(value, operation, { column, table: model.name })
}

function isSqlOrFunction(value: unknown): boolean {
  return typeof value === 'function' || isOperationNodeSource(value)
}

/** `checkColumnValue` for every column of an insert row or a patch. */
export function checkColumnValues(model: TableModel, values: Record<string, unknown>, operation: string): void {
  for (const [column, value] of Object.entries(values)) checkColumnValue(model, column, value, operation)
}

/**
 * For `where` values: a NUL byte in a filter value (also in operator objects and `in` lists) is
 * `VALIDATION` naming the column, instead of an untyped database error.
 *
 * @example
 * checkFilterValue(model, 'name', { eq: 'x\u0000' }, 'projects.findMany') // VALIDATION, column "name"
 */
export function checkFilterValue(model: TableModel, column: string, value: unknown, operation: string): void {
  refuseNulBytes(value, operation, { column, table: model.name })
}
