import type { TableModel } from './table-model.js'
import { checkJsonValue, refuseNulBytes } from '../validation/text-value.js'

/**
 * Checks one value bound for a column before any SQL: json/jsonb columns get JSON that PostgreSQL
 * accepts (no BigInt, function, circular structure or NUL byte); every other column gets no NUL
 * byte in its text (also inside arrays). Errors name the column, never the value.
 *
 * @example
 * checkColumnValue(model, 'name', 'a\u0000b', 'projects.create') // VALIDATION, column "name"
 */
export function checkColumnValue(model: TableModel, column: string, value: unknown, operation: string): void {
  if (value === null || value === undefined) return
  const type = model.columns.get(column)?.type
  if (type === 'json' || type === 'jsonb') checkJsonValue(value, operation, { column, table: model.name })
  else refuseNulBytes(value, operation, { column, table: model.name })
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
