import { columnError } from '../errors/validation-error.js'
import type { TenantryError } from '../errors/tenantry-error.js'
import type { ColumnInfo } from '../schema/table-model.js'
import { isPlainObject } from './input-validation.js'

/**
 * What a `where` value may be. Only plain data is bound as a parameter: a Kysely expression, a
 * `sql` template, a function or a class instance in a filter would otherwise reach the SQL text
 * (Kysely compiles expressions it is handed), so each is refused, naming the column, never the value.
 */

/** Names the column and the table, never the value: values may be secrets. */
export interface FilterValueContext {
  table: string
  operation: string
}

const STRING_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name'])
const JSON_TYPES = new Set(['json', 'jsonb'])
/** Nesting allowed inside a JSON filter value (a cyclic object would otherwise recurse forever). */
const MAX_JSON_DEPTH = 64

export function isStringColumn(info: ColumnInfo): boolean {
  return STRING_TYPES.has(info.type)
}

export function isJsonColumn(info: ColumnInfo): boolean {
  return JSON_TYPES.has(info.type)
}

/** PostgreSQL array columns: `udt_name` starts with an underscore (`_text`, `_uuid`). */
export function isArrayColumn(info: ColumnInfo): boolean {
  return info.type.startsWith('_')
}

function refuse(ctx: FilterValueContext, column: string, why: string): TenantryError {
  return columnError(`${ctx.operation}: the filter on column "${column}" ${why}`, column, { table: ctx.table, operation: ctx.operation })
}

/** A scalar that binds as itself: string, number, bigint, boolean, Date, Buffer/Uint8Array. */
function isScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return true
    case 'object':
      return value instanceof Date || value instanceof Uint8Array
    default:
      return false
  }
}

function checkScalarContent(ctx: FilterValueContext, column: string, value: unknown): void {
  if (typeof value === 'string' && value.includes('\u0000')) throw refuse(ctx, column, 'contains a NUL byte, which PostgreSQL text cannot hold')
  if (value instanceof Date && Number.isNaN(value.getTime())) throw refuse(ctx, column, 'has an invalid Date')
}

function isJsonValue(value: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return false
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1))
  if (isPlainObject(value)) return Object.values(value).every((item) => isJsonValue(item, depth + 1))
  return false
}

/**
 * Checks one comparison value (never `null` or `undefined`; callers turn those into `is null` or
 * an error). JSON columns take JSON data; array columns take arrays of scalars; others scalars.
 */
export function checkFilterValue(ctx: FilterValueContext, info: ColumnInfo, value: unknown): void {
  if (isJsonColumn(info)) {
    if (!isJsonValue(value, 0)) throw refuse(ctx, column(info), 'must be JSON data (objects, arrays, strings, finite numbers, booleans, null)')
    return
  }
  if (Array.isArray(value) && isArrayColumn(info)) {
    for (const item of value) checkListItem(ctx, info, item)
    return
  }
  if (!isScalar(value)) {
    throw refuse(ctx, column(info), 'must be a plain value (string, number, bigint, boolean, Date, Buffer), not an expression, function or object')
  }
  checkScalarContent(ctx, column(info), value)
}

/** An item of an `in`/`notIn` list, or of an array value: a scalar or `null`. */
export function checkListItem(ctx: FilterValueContext, info: ColumnInfo, item: unknown): void {
  if (item === null) return
  if (item === undefined) throw refuse(ctx, column(info), 'has an undefined item in its list')
  if (isJsonColumn(info)) {
    checkFilterValue(ctx, info, item)
    return
  }
  if (!isScalar(item)) throw refuse(ctx, column(info), 'has a list item that is not a plain value')
  checkScalarContent(ctx, column(info), item)
}

/** A LIKE pattern or a search string: a string without NUL bytes. */
export function checkPatternValue(ctx: FilterValueContext, info: ColumnInfo, op: string, value: unknown): string {
  if (typeof value !== 'string') throw refuse(ctx, column(info), `needs a string for "${op}"`)
  checkScalarContent(ctx, column(info), value)
  return value
}

function column(info: ColumnInfo): string {
  return info.name
}
