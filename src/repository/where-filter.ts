import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { columnError } from '../errors/validation-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { ColumnInfo, TableModel } from '../schema/table-model.js'
import { checkFilterValue, checkListItem, checkPatternValue, isArrayColumn, isJsonColumn, isStringColumn, type FilterValueContext } from './filter-values.js'
import { isPlainObject } from './input-validation.js'
import { searchPattern, type SearchOperator } from './like-pattern.js'

/** Operators every column accepts. */
export interface ComparisonOperators<T> {
  eq?: T | null
  ne?: T | null
  gt?: T
  gte?: T
  lt?: T
  lte?: T
  in?: readonly (T | null)[]
  notIn?: readonly (T | null)[]
}

/** Operators of text columns. Search operators escape `%`, `_` and `\`; `like`/`ilike` take a pattern as written. */
export interface StringOperators {
  contains?: string
  startsWith?: string
  endsWith?: string
  like?: string
  ilike?: string
  /** `'insensitive'`: `eq`, `ne`, `in`, `notIn` compare `lower()` of both sides; search operators use ILIKE. */
  mode?: 'sensitive' | 'insensitive'
}

/** Comparison operators accepted per column; the text operators only on string columns. */
export type ColumnOperators<T> = ComparisonOperators<T> & ([T] extends [string] ? StringOperators : Record<never, never>)

/** A column's filter: a value (equality), `null` (IS NULL), an array (IN) or operators. */
export type ColumnFilter<T> = T | null | readonly T[] | ColumnOperators<T>

/** The keys that compose filters; a column of the same name cannot be filtered in `where` (use `scope.db`). */
export type LogicalKey = 'or' | 'and' | 'not'

/**
 * A `where` object: every key is a column of the table, combined with AND; `or`, `and` and `not`
 * compose nested filters.
 *
 * @example
 * await repo.findMany({ where: { or: [{ status: 'failed' }, { name: { startsWith: 'api' } }], not: { env: 'dev' } } })
 */
export type WhereFilter<Row> = { [K in Exclude<keyof Row, LogicalKey>]?: ColumnFilter<NonNullable<Row[K]>> } & {
  or?: readonly WhereFilter<Row>[]
  and?: readonly WhereFilter<Row>[]
  not?: WhereFilter<Row>
}

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'notIn'])
const STRING_OPERATORS = new Set(['contains', 'startsWith', 'endsWith', 'like', 'ilike', 'mode'])
const LOGICAL = new Set<string>(['or', 'and', 'not'])
/** Deep enough for any hand-written filter; a cyclic filter object stops here instead of overflowing the stack. */
const MAX_DEPTH = 32

interface Compile extends FilterValueContext {
  model: TableModel
  alias: string
}

/**
 * Compiles a `where` object into predicates on `alias`, each one parenthesised. Keys must be
 * columns of the table (read from the database) or `or`/`and`/`not`; values must be plain data.
 * Anything else is a `VALIDATION` error naming the column, never SQL.
 */
export function compileWhere(model: TableModel, alias: string, where: unknown, operation: string): RawBuilder<SqlBool>[] {
  if (where === undefined || where === null) return []
  return compileObject({ model, alias, operation, table: model.name }, where, 0, false)
}

function invalid(ctx: Compile, message: string): TenantryError {
  return new TenantryError('VALIDATION', `${ctx.operation}: ${message}`, { table: ctx.table, operation: ctx.operation })
}

function compileObject(ctx: Compile, filter: unknown, depth: number, nested: boolean): RawBuilder<SqlBool>[] {
  if (depth > MAX_DEPTH) throw invalid(ctx, `where nests deeper than ${MAX_DEPTH} levels`)
  if (!isPlainObject(filter)) throw invalid(ctx, nested ? 'or/and/not take filter objects' : 'where must be an object of column filters')
  const entries = Object.entries(filter)
  // An empty filter inside or/and/not would match everything (or nothing under `not`) without saying so.
  if (nested && entries.length === 0) throw invalid(ctx, 'an empty filter object inside or/and/not')
  const parts: RawBuilder<SqlBool>[] = []
  for (const [key, value] of entries) {
    if (LOGICAL.has(key)) {
      parts.push(compileLogical(ctx, key as LogicalKey, value, depth))
      continue
    }
    const info = ctx.model.columns.get(key)
    if (!info) throw columnError(`${ctx.operation}: unknown column "${key}" in where`, key, { table: ctx.table, operation: ctx.operation })
    // `{ id: undefined }` used to drop the condition and widen the query to every row.
    if (value === undefined)
      throw columnError(`${ctx.operation}: the filter on column "${key}" is undefined`, key, { table: ctx.table, operation: ctx.operation })
    parts.push(...compileColumn(ctx, info, value))
  }
  return parts
}

function conjunction(parts: RawBuilder<SqlBool>[]): RawBuilder<SqlBool> {
  return parts.length === 1 ? parts[0]! : sql<SqlBool>`(${sql.join(parts, sql` and `)})`
}

function compileLogical(ctx: Compile, key: LogicalKey, value: unknown, depth: number): RawBuilder<SqlBool> {
  if (key === 'not') return sql<SqlBool>`(not ${conjunction(compileObject(ctx, value, depth + 1, true))})`
  if (!Array.isArray(value) || value.length === 0) throw invalid(ctx, `${key} takes a non-empty array of filter objects`)
  const branches = value.map((branch) => conjunction(compileObject(ctx, branch, depth + 1, true)))
  return sql<SqlBool>`(${sql.join(branches, key === 'or' ? sql` or ` : sql` and `)})`
}

function compileColumn(ctx: Compile, info: ColumnInfo, value: unknown): RawBuilder<SqlBool>[] {
  const ref = sql`${sql.id(ctx.alias)}.${sql.id(info.name)}`
  const insensitive = defaultInsensitive(ctx, info)
  if (value === null) return [sql<SqlBool>`(${ref} is null)`]
  if (Array.isArray(value) && !isJsonColumn(info)) return [inList(ctx, info, ref, value, insensitive, 'in')]
  if (isPlainObject(value) && !isJsonColumn(info)) return compileOperators(ctx, info, ref, value)
  // A JSON column's plain object or array is its value; its operators are spelt `{ eq: ... }`.
  if (isPlainObject(value) && Object.keys(value).some((k) => COMPARISONS.has(k))) return compileOperators(ctx, info, ref, value)
  return [equals(ctx, info, ref, value, insensitive)]
}

function defaultInsensitive(ctx: Compile, info: ColumnInfo): boolean {
  return ctx.model.caseInsensitive?.includes(info.name) === true
}

function columnFailure(ctx: Compile, info: ColumnInfo, message: string): TenantryError {
  return columnError(`${ctx.operation}: ${message} (column "${info.name}")`, info.name, { table: ctx.table, operation: ctx.operation })
}

/** The bound form of a value: JSON columns compare `jsonb`, so `{a:1}` equals `{ "a": 1 }`. */
function bound(info: ColumnInfo, value: unknown): RawBuilder<unknown> {
  return isJsonColumn(info) ? sql`${JSON.stringify(value)}::jsonb` : sql`${value}`
}

function columnRef(info: ColumnInfo, ref: RawBuilder<unknown>): RawBuilder<unknown> {
  return info.type === 'json' ? sql`${ref}::jsonb` : ref
}

function equals(ctx: Compile, info: ColumnInfo, ref: RawBuilder<unknown>, value: unknown, insensitive: boolean): RawBuilder<SqlBool> {
  checkFilterValue(ctx, info, value)
  if (insensitive) return sql<SqlBool>`(lower(${ref}) = lower(${value}))`
  return sql<SqlBool>`(${columnRef(info, ref)} = ${bound(info, value)})`
}

function notEquals(ctx: Compile, info: ColumnInfo, ref: RawBuilder<unknown>, value: unknown, insensitive: boolean): RawBuilder<SqlBool> {
  checkFilterValue(ctx, info, value)
  if (insensitive) return sql<SqlBool>`(lower(${ref}) is distinct from lower(${value}))`
  return sql<SqlBool>`(${columnRef(info, ref)} is distinct from ${bound(info, value)})`
}

/**
 * `col = any($1)`: the whole list is one array parameter, so a list of 70,000 values stays within
 * PostgreSQL's 65,535 bind parameters, and PostgreSQL types the array from the column.
 */
function inList(
  ctx: Compile,
  info: ColumnInfo,
  ref: RawBuilder<unknown>,
  values: readonly unknown[],
  insensitive: boolean,
  op: 'in' | 'notIn',
): RawBuilder<SqlBool> {
  if (isArrayColumn(info)) throw columnFailure(ctx, info, `"${op}" is not available on array columns`)
  // Copied once, then checked and bound: what is checked is exactly what is sent.
  const list = Array.from(values)
  for (const item of list) checkListItem(ctx, info, item)
  let test: RawBuilder<SqlBool>
  if (insensitive) {
    test = sql<SqlBool>`lower(${ref}) = any(array(select lower(v) from unnest(${list}::text[]) as v))`
  } else if (isJsonColumn(info)) {
    test = sql<SqlBool>`${columnRef(info, ref)} = any(${list.map((v) => (v === null ? null : JSON.stringify(v)))}::jsonb[])`
  } else {
    test = sql<SqlBool>`${ref} = any(${list})`
  }
  // `= any` of an empty array is false for every row (also a null one), as `in ()` would be.
  return op === 'in' ? sql<SqlBool>`(${test})` : sql<SqlBool>`(not (${test}))`
}

function compileOperators(ctx: Compile, info: ColumnInfo, ref: RawBuilder<unknown>, ops: Record<string, unknown>): RawBuilder<SqlBool>[] {
  const mode = ops.mode
  if (mode !== undefined && mode !== 'sensitive' && mode !== 'insensitive') {
    throw columnFailure(ctx, info, `mode is 'sensitive' or 'insensitive'`)
  }
  const insensitive = mode === undefined ? defaultInsensitive(ctx, info) : mode === 'insensitive'
  const parts: RawBuilder<SqlBool>[] = []
  for (const [op, value] of Object.entries(ops)) {
    if (!COMPARISONS.has(op) && !STRING_OPERATORS.has(op)) throw columnFailure(ctx, info, `unknown operator "${op}"`)
    if (STRING_OPERATORS.has(op) && !isStringColumn(info)) throw columnFailure(ctx, info, `operator "${op}" needs a text column`)
    if (value === undefined) throw columnFailure(ctx, info, `operator "${op}" has an undefined value`)
    if (op === 'mode') continue
    const range = op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte'
    if (range && mode === 'insensitive') throw columnFailure(ctx, info, `operator "${op}" has no case-insensitive form`)
    // Ranges compare as stored, also on a column that is case-insensitive by default.
    parts.push(compileOperator(ctx, info, ref, op, value, insensitive && !range))
  }
  if (parts.length === 0) throw columnFailure(ctx, info, 'the operator object holds no operator')
  return parts
}

function compileOperator(ctx: Compile, info: ColumnInfo, ref: RawBuilder<unknown>, op: string, value: unknown, insensitive: boolean): RawBuilder<SqlBool> {
  switch (op) {
    case 'eq':
      return value === null ? sql<SqlBool>`(${ref} is null)` : equals(ctx, info, ref, value, insensitive)
    case 'ne':
      return value === null ? sql<SqlBool>`(${ref} is not null)` : notEquals(ctx, info, ref, value, insensitive)
    case 'in':
    case 'notIn':
      if (!Array.isArray(value)) throw columnFailure(ctx, info, `operator "${op}" takes an array`)
      return inList(ctx, info, ref, value, insensitive, op)
    case 'like':
    case 'ilike': {
      const pattern = checkPatternValue(ctx, info, op, value)
      const like = op === 'ilike' || insensitive ? sql`ilike` : sql`like`
      return sql<SqlBool>`(${ref} ${like} ${pattern})`
    }
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const pattern = searchPattern(op as SearchOperator, checkPatternValue(ctx, info, op, value))
      const like = insensitive ? sql`ilike` : sql`like`
      return sql<SqlBool>`(${ref} ${like} ${pattern} escape '\\')`
    }
    default: {
      if (value === null) throw columnFailure(ctx, info, `operator "${op}" cannot compare with null`)
      checkFilterValue(ctx, info, value)
      const comparison = op === 'gt' ? sql`>` : op === 'gte' ? sql`>=` : op === 'lt' ? sql`<` : sql`<=`
      return sql<SqlBool>`(${columnRef(info, ref)} ${comparison} ${bound(info, value)})`
    }
  }
}
