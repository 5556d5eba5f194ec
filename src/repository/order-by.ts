import { sql, type RawBuilder } from 'kysely'
import { columnError } from '../errors/validation-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'

export type SortDirection = 'asc' | 'desc'

/**
 * Where NULLs sort. Without it PostgreSQL's default applies: last for `asc`, first for `desc`
 * (NULL sorts as the largest value), which a plain btree index serves in either direction.
 */
export type NullsOrder = 'nullsFirst' | 'nullsLast'

/** One sort key: `'name'`, `['created_at', 'desc']` or `['deployed_at', 'asc', 'nullsFirst']`. */
export type OrderByItem<Column extends string = string> = Column | readonly [Column, SortDirection] | readonly [Column, SortDirection, NullsOrder]

/** `'name'`, `['created_at', 'desc']`, `['deployed_at', 'desc', 'nullsLast']`, or a list of those. */
export type OrderByInput<Column extends string = string> = OrderByItem<Column> | ReadonlyArray<OrderByItem<Column>>

export interface SortKey {
  column: string
  direction: SortDirection
  /** Where NULLs sort, resolved (the default follows the direction). */
  nulls: 'first' | 'last'
  /** `true` when the caller named the NULLs order: the ORDER BY then spells it out. */
  explicitNulls?: boolean
}

function isKeyTuple(value: unknown): value is [string, SortDirection] | [string, SortDirection, NullsOrder] {
  return (
    Array.isArray(value) &&
    (value.length === 2 || (value.length === 3 && (value[2] === 'nullsFirst' || value[2] === 'nullsLast'))) &&
    typeof value[0] === 'string' &&
    (value[1] === 'asc' || value[1] === 'desc')
  )
}

/** PostgreSQL's default: NULLs sort as the largest value, so last ascending and first descending. */
export function defaultNulls(direction: SortDirection): 'first' | 'last' {
  return direction === 'asc' ? 'last' : 'first'
}

/**
 * Validates `orderBy` against the table's columns; only column names, `asc`/`desc` and
 * `nulls first`/`nulls last` ever reach SQL, the names as quoted identifiers.
 */
export function parseOrderBy(model: TableModel, input: unknown, operation: string): SortKey[] {
  if (input === undefined || input === null) return []
  const items: unknown[] = typeof input === 'string' || isKeyTuple(input) ? [input] : Array.isArray(input) ? input : [input]
  return items.map((item): SortKey => {
    if (typeof item !== 'string' && !isKeyTuple(item)) {
      throw new TenantryError('VALIDATION', `${operation}: orderBy takes column names or [column, 'asc' | 'desc', 'nullsFirst' | 'nullsLast'?] tuples`, {
        table: model.name,
        operation,
      })
    }
    const [column, direction, nulls] = typeof item === 'string' ? [item, 'asc' as const, undefined] : item
    if (!model.columns.has(column)) {
      throw columnError(`${operation}: unknown column "${column}" in orderBy`, column, { table: model.name, operation })
    }
    if (nulls === undefined) return { column, direction, nulls: defaultNulls(direction) }
    return { column, direction, nulls: nulls === 'nullsFirst' ? 'first' : 'last', explicitNulls: true }
  })
}

/** Adds the primary key as a final tiebreaker so that keyset pages are stable. */
export function withTiebreaker(model: TableModel, keys: SortKey[]): SortKey[] {
  if (keys.some((k) => k.column === model.primaryKey)) return keys
  const direction = keys.at(-1)?.direction ?? 'asc'
  return [...keys, { column: model.primaryKey, direction, nulls: defaultNulls(direction) }]
}

export function orderByClause(alias: string, keys: SortKey[]): RawBuilder<unknown> {
  if (keys.length === 0) return sql``
  const parts = keys.map((k) => {
    const nulls = k.explicitNulls ? sql.raw(k.nulls === 'first' ? ' nulls first' : ' nulls last') : sql``
    return sql`${sql.id(alias)}.${sql.id(k.column)} ${sql.raw(k.direction)}${nulls}`
  })
  return sql` order by ${sql.join(parts)}`
}
