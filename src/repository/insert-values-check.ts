import { sql, type RawBuilder } from 'kysely'
import { referencesOf } from '../schema/references.js'
import type { TableModel } from '../schema/table-model.js'
import type { RowCheck } from './reference-check.js'

/**
 * The reference check of an insert on Citus, as a statement of its own sent just before the
 * insert, in its transaction: `with created (<tenant>, <references>) as (values ...) select <check> from created`.
 * On one node the check reads the inserted rows in the insert's own CTE; Citus does not route an
 * INSERT inside a CTE (it plans it as distributed subplans, the rows pulled to the coordinator),
 * so here the check reads the values about to be inserted instead, as a router select on the
 * tenant's shard. It runs before the host's own foreign keys can fire, so a missing, soft-deleted
 * or other tenant's parent fails with the same error as on one node. A reference column the row
 * leaves to its default is checked as null (the host's foreign key still guards a default).
 *
 * @example
 * const precheck = insertValuesCheck(model, rows, referenceCheck(state, model)!)
 */
export function insertValuesCheck(model: TableModel, rows: Record<string, unknown>[], check: RowCheck): RawBuilder<unknown> {
  const columns = [...new Set([...(model.tenantColumn ? [model.tenantColumn] : []), ...referencesOf(model).map((r) => r.column)])]
  const typed = (row: Record<string, unknown>, column: string) => {
    const type = sql.id(model.columns.get(column)?.type ?? 'text')
    return column in row ? sql`${row[column]}::${type}` : sql`null::${type}`
  }
  const values = rows.map((row) => sql`(${sql.join(columns.map((column) => typed(row, column)))})`)
  return sql`with created (${sql.join(columns.map((c) => sql.id(c)))}) as (values ${sql.join(values)}) select ${check('created')} as ok from created`
}
