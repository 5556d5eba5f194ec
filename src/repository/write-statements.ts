import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { AUDIT_COLUMN } from '../execution/audited-write.js'
import type { RequestState } from '../runtime/runtime.js'
import { rowVisibilityCondition, type RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'

/**
 * Data-modifying CTEs: the change and its audit rows in one statement, so an audited single-row
 * write is one round trip and can never commit without its audit record.
 */

function tableRef(model: TableModel): RawBuilder<unknown> {
  return sql`${sql.id(model.schema, model.table)}`
}

/**
 * Binds a value for its column: JSON columns get JSON text, so arrays and objects survive. Any other
 * value is returned as it is, which `sql` templates and `sql.join` bind as one parameter (no
 * fragment of its own per value).
 */
export function bindValue(model: TableModel, column: string, value: unknown): unknown {
  const type = model.columns.get(column)?.type
  if ((type === 'jsonb' || type === 'json') && value !== null && value !== undefined) {
    return sql`${JSON.stringify(value)}::${sql.raw(type)}`
  }
  return value
}

const DEFAULT = sql`default`

function finalSelect(model: TableModel, source: string, audited: boolean, wantEvents: boolean): RawBuilder<unknown> {
  if (!audited || !wantEvents) return sql`select ${sql.id(source)}.* from ${sql.id(source)}`
  return sql`select ${sql.id(source)}.*, to_jsonb(a) as ${sql.id(AUDIT_COLUMN)}
    from ${sql.id(source)} left join audit a on a.resource_id = ${sql.id(source)}.${sql.id(model.primaryKey)}::text`
}

export interface WriteOptions {
  audited: boolean
  /** Return each row's audit record too (for the sink). */
  wantEvents: boolean
}

/** `insert ... returning *` for one or many rows, plus their audit rows. */
export function insertStatement(
  state: RequestState,
  model: TableModel,
  rows: Record<string, unknown>[],
  action: string,
  options: WriteOptions,
): RawBuilder<Record<string, unknown>> {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const values = rows.map((row) => sql`(${sql.join(columns.map((c) => (c in row ? bindValue(model, c, row[c]) : DEFAULT)))})`)
  const insert =
    columns.length === 0
      ? sql`insert into ${tableRef(model)} default values returning *`
      : sql`insert into ${tableRef(model)} (${sql.join(columns.map((c) => sql.id(c)))}) values ${sql.join(values)} returning *`
  if (!options.audited) return sql<Record<string, unknown>>`${insert}`
  const audit = auditInsertFromCte(state, model, action, { after: 'created', before: null, createdFields: columns, returning: options.wantEvents })
  return sql<Record<string, unknown>>`with created as (${insert}), audit as (${audit})
    ${finalSelect(model, 'created', true, options.wantEvents)}`
}

export interface TargetRows {
  visibility: RowVisibility
  /** Filters beyond the scope: the primary key, a compiled `where`, ... */
  filters: RawBuilder<SqlBool>[]
}

function targetCte(model: TableModel, target: TargetRows): RawBuilder<unknown> {
  const conditions = [rowVisibilityCondition(model, 't', target.visibility), ...target.filters]
  return sql`select t.* from ${tableRef(model)} as t where ${sql.join(conditions, sql` and `)}
    order by t.${sql.id(model.primaryKey)} for update of t`
}

/**
 * `update ... set ...` of the scoped target rows (locked in primary-key order, so concurrent bulk
 * updates do not deadlock), plus one audit row per updated record with old and new values.
 */
export function updateStatement(
  state: RequestState,
  model: TableModel,
  target: TargetRows,
  assignments: RawBuilder<unknown>[],
  action: string,
  options: WriteOptions & { guard?: RawBuilder<SqlBool> },
): RawBuilder<Record<string, unknown>> {
  const pk = sql.id(model.primaryKey)
  const guard = options.guard ? sql` and ${options.guard}` : sql``
  const update = sql`update ${tableRef(model)} as u set ${sql.join(assignments)}
    from target where u.${pk} = target.${pk}${guard} returning u.*`
  const audit = options.audited
    ? sql`, audit as (${auditInsertFromCte(state, model, action, { after: 'changed', before: 'target', returning: options.wantEvents })})`
    : sql``
  return sql<Record<string, unknown>>`with target as (${targetCte(model, target)}), changed as (${update})${audit}
    ${finalSelect(model, 'changed', options.audited, options.wantEvents)}`
}

/** `delete` of the scoped target rows, plus one audit row per record with its old values. */
export function deleteStatement(
  state: RequestState,
  model: TableModel,
  target: TargetRows,
  action: string,
  options: WriteOptions,
): RawBuilder<Record<string, unknown>> {
  const pk = sql.id(model.primaryKey)
  const remove = sql`delete from ${tableRef(model)} as d using target where d.${pk} = target.${pk} returning d.*`
  const audit = options.audited
    ? sql`, audit as (${auditInsertFromCte(state, model, action, { after: null, before: 'removed', returning: options.wantEvents })})`
    : sql``
  return sql<Record<string, unknown>>`with target as (${targetCte(model, target)}), removed as (${remove})${audit}
    ${finalSelect(model, 'removed', options.audited, options.wantEvents)}`
}
