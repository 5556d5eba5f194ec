import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { rowVisibilityCondition, type RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { orderByClause, type SortKey } from './order-by.js'

/** Scoped `select`, `count` and `exists` statements; the scope's predicates always come first. */

/** `t.<pk> = key`: the filter of every by-key statement (alias `t`). */
export function primaryKeyEquals(model: TableModel, key: unknown): RawBuilder<SqlBool> {
  return sql<SqlBool>`t.${sql.id(model.primaryKey)} = ${key}`
}

/** `lock` of `findById`/`findOne`/`findMany`: `for update` or `for share`, only inside a transaction. */
export type RowLock = 'update' | 'share'

export interface ReadTarget {
  visibility: RowVisibility
  filters: RawBuilder<SqlBool>[]
}

function whereClause(model: TableModel, target: ReadTarget): RawBuilder<unknown> {
  return sql`where ${sql.join([rowVisibilityCondition(model, 't', target.visibility), ...target.filters], sql` and `)}`
}

function from(model: TableModel): RawBuilder<unknown> {
  return sql`from ${sql.id(model.schema, model.table)} as t`
}

export function selectStatement(
  model: TableModel,
  target: ReadTarget,
  options: { orderBy: SortKey[]; limit: number; offset?: number; lock?: RowLock },
): RawBuilder<Record<string, unknown>> {
  const offset = options.offset ? sql` offset ${options.offset}` : sql``
  // `of t` locks only the repository's row; the scope's predicates are in the WHERE, so only visible rows are locked.
  const lock = options.lock === undefined ? sql`` : options.lock === 'update' ? sql` for update of t` : sql` for share of t`
  return sql<Record<string, unknown>>`select t.* ${from(model)} ${whereClause(model, target)}${orderByClause('t', options.orderBy)}
    limit ${options.limit}${offset}${lock}`
}

export function countStatement(model: TableModel, target: ReadTarget): RawBuilder<{ count: string }> {
  return sql<{ count: string }>`select count(*) as count ${from(model)} ${whereClause(model, target)}`
}

export function existsStatement(model: TableModel, target: ReadTarget): RawBuilder<{ exists: boolean }> {
  return sql<{ exists: boolean }>`select exists (select 1 ${from(model)} ${whereClause(model, target)}) as exists`
}

/** `select <groups and aggregates> ... group by <groups> order by <groups>`, scoped like every read. */
export function aggregateStatement(
  model: TableModel,
  target: ReadTarget,
  selections: { select: RawBuilder<unknown>[]; groupBy: RawBuilder<unknown>[] },
): RawBuilder<Record<string, unknown>> {
  const grouped = selections.groupBy.length > 0
  const groupBy = grouped ? sql` group by ${sql.join(selections.groupBy)} order by ${sql.join(selections.groupBy)}` : sql``
  return sql<Record<string, unknown>>`select ${sql.join(selections.select)} ${from(model)} ${whereClause(model, target)}${groupBy}`
}
