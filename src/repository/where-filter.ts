import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { columnError } from '../errors/validation-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'
import { checkFilterValue } from '../validation/column-values.js'

/** Comparison operators accepted per column. */
export interface ColumnOperators<T> {
  eq?: T | null
  ne?: T | null
  gt?: T
  gte?: T
  lt?: T
  lte?: T
  like?: string
  ilike?: string
  in?: readonly T[]
  notIn?: readonly T[]
}

/** A column's filter: a value (equality), `null` (IS NULL), an array (IN) or operators. */
export type ColumnFilter<T> = T | null | readonly T[] | ColumnOperators<T>

/** A `where` object: every key is a column of the table, combined with AND. */
export type WhereFilter<Row> = { [K in keyof Row]?: ColumnFilter<NonNullable<Row[K]>> }

const OPERATORS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'notIn'])

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !Buffer.isBuffer(value)
  )
}

/**
 * Compiles a `where` object into a predicate on `alias`. Keys must be columns of the table
 * (read from the database), so a typo or an injection attempt is a `VALIDATION` error, never SQL.
 */
export function compileWhere(model: TableModel, alias: string, where: unknown, operation: string): RawBuilder<SqlBool>[] {
  if (where === undefined || where === null) return []
  if (!isOperatorObject(where)) {
    throw new TenantryError('VALIDATION', `${operation}: where must be an object of column filters`, { table: model.name, operation })
  }
  const parts: RawBuilder<SqlBool>[] = []
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue
    if (!model.columns.has(key)) throw columnError(`${operation}: unknown column "${key}" in where`, key, { table: model.name, operation })
    checkFilterValue(model, key, value, operation)
    const ref = sql`${sql.id(alias)}.${sql.id(key)}`
    if (value === null) parts.push(sql<SqlBool>`${ref} is null`)
    else if (Array.isArray(value)) parts.push(inList(ref, value))
    else if (isOperatorObject(value)) parts.push(...compileOperators(model, key, ref, value, operation))
    else parts.push(sql<SqlBool>`${ref} = ${value}`)
  }
  return parts
}

function inList(ref: RawBuilder<unknown>, values: readonly unknown[]): RawBuilder<SqlBool> {
  if (values.length === 0) return sql<SqlBool>`false`
  return sql<SqlBool>`${ref} in (${sql.join(values.map((v) => sql`${v}`))})`
}

function compileOperators(
  model: TableModel,
  key: string,
  ref: RawBuilder<unknown>,
  ops: Record<string, unknown>,
  operation: string,
): RawBuilder<SqlBool>[] {
  const parts: RawBuilder<SqlBool>[] = []
  for (const [op, value] of Object.entries(ops)) {
    if (!OPERATORS.has(op)) {
      throw columnError(`${operation}: unknown operator "${op}" for column "${key}"`, key, { table: model.name, operation })
    }
    if (value === undefined) continue
    const needsList = op === 'in' || op === 'notIn'
    if (needsList !== Array.isArray(value) || ((op === 'like' || op === 'ilike') && typeof value !== 'string')) {
      throw columnError(`${operation}: operator "${op}" for column "${key}" has a value of the wrong kind`, key, {
        table: model.name,
        operation,
      })
    }
    switch (op) {
      case 'eq':
        parts.push(value === null ? sql<SqlBool>`${ref} is null` : sql<SqlBool>`${ref} = ${value}`)
        break
      case 'ne':
        parts.push(value === null ? sql<SqlBool>`${ref} is not null` : sql<SqlBool>`${ref} is distinct from ${value}`)
        break
      case 'gt':
        parts.push(sql<SqlBool>`${ref} > ${value}`)
        break
      case 'gte':
        parts.push(sql<SqlBool>`${ref} >= ${value}`)
        break
      case 'lt':
        parts.push(sql<SqlBool>`${ref} < ${value}`)
        break
      case 'lte':
        parts.push(sql<SqlBool>`${ref} <= ${value}`)
        break
      case 'like':
        parts.push(sql<SqlBool>`${ref} like ${value}`)
        break
      case 'ilike':
        parts.push(sql<SqlBool>`${ref} ilike ${value}`)
        break
      case 'in':
        parts.push(inList(ref, value as unknown[]))
        break
      case 'notIn':
        parts.push(sql<SqlBool>`not ${inList(ref, value as unknown[])}`)
        break
    }
  }
  return parts
}
