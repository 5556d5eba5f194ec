import { sql, type RawBuilder } from 'kysely'
import { columnError } from '../errors/validation-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'

export type SortDirection = 'asc' | 'desc'

/** `'name'`, `['created_at', 'desc']`, or a list of those. */
export type OrderByInput<Column extends string = string> =
  | Column
  | readonly [Column, SortDirection]
  | ReadonlyArray<Column | readonly [Column, SortDirection]>

export interface SortKey {
  column: string
  direction: SortDirection
}

function isPair(value: unknown): value is [string, SortDirection] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && (value[1] === 'asc' || value[1] === 'desc')
}

/**
 * Validates `orderBy` against the table's columns; only column names and `asc`/`desc` ever reach
 * SQL, and they reach it as quoted identifiers.
 */
export function parseOrderBy(model: TableModel, input: unknown, operation: string): SortKey[] {
  if (input === undefined || input === null) return []
  const items: unknown[] = typeof input === 'string' || isPair(input) ? [input] : Array.isArray(input) ? input : [input]
  return items.map((item) => {
    const [column, direction] = typeof item === 'string' ? [item, 'asc' as const] : isPair(item) ? item : [undefined, undefined]
    if (column === undefined) {
      throw new TenantryError('VALIDATION', `${operation}: orderBy takes column names or [column, 'asc' | 'desc'] pairs`, {
        table: model.name,
        operation,
      })
    }
    if (!model.columns.has(column)) {
      throw columnError(`${operation}: unknown column "${column}" in orderBy`, column, { table: model.name, operation })
    }
    return { column, direction }
  })
}

/** Adds the primary key as a final tiebreaker so that keyset pages are stable. */
export function withTiebreaker(model: TableModel, keys: SortKey[]): SortKey[] {
  if (keys.some((k) => k.column === model.primaryKey)) return keys
  return [...keys, { column: model.primaryKey, direction: keys.at(-1)?.direction ?? 'asc' }]
}

export function orderByClause(alias: string, keys: SortKey[]): RawBuilder<unknown> {
  if (keys.length === 0) return sql``
  const parts = keys.map((k) => sql`${sql.id(alias)}.${sql.id(k.column)} ${sql.raw(k.direction)}`)
  return sql` order by ${sql.join(parts)}`
}
