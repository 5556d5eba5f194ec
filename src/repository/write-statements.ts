import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { AUDIT_COLUMN } from '../execution/audited-write.js'
import { isJsonColumn } from './filter-values.js'
import type { RequestState } from '../runtime/runtime.js'
import { rowVisibilityCondition, type RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { selectWithBefore } from './hook-rows.js'
import { insertValuesCheck } from './insert-values-check.js'
import type { RowCheck } from './reference-check.js'
import { precededBy, splitAuditInsert, splitAuditStatement, tenantShardFilter, type SplitStatementShape } from '../execution/split-audit-statement.js'

/**
 * Data-modifying CTEs: the change and its audit rows in one statement, so an audited single-row
 * write is one round trip and can never commit without its audit record. `compiled-writes.ts` runs
 * them, compiled once per shape where it can.
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
  if (isJson(model, column) && value !== null && value !== undefined) {
    return sql`${JSON.stringify(value)}::${sql.raw(model.columns.get(column)!.type)}`
  }
  return value
}

export function isJson(model: TableModel, column: string): boolean {
  const info = model.columns.get(column)
  return info !== undefined && isJsonColumn(info)
}

const DEFAULT = sql`default`

/**
 * The statement's final select over `source` (`created`, `changed`, `removed`), with each row's
 * audit record when a sink wants it. `check` applies to every row it reads, so it runs (and
 * raises) for each written row before any row is returned.
 */
function finalSelect(model: TableModel, source: string, audited: boolean, wantEvents: boolean, check?: RowCheck): RawBuilder<unknown> {
  const checked = check ? sql` where ${check(source)}` : sql``
  if (!audited || !wantEvents) return sql`select ${sql.id(source)}.* from ${sql.id(source)}${checked}`
  return sql`select ${sql.id(source)}.*, to_jsonb(a) as ${sql.id(AUDIT_COLUMN)}
    from ${sql.id(source)} left join audit a on a.resource_id = ${sql.id(source)}.${sql.id(model.primaryKey)}::text${checked}`
}

export interface WriteOptions {
  audited: boolean
  /** Return each row's audit record too (for the sink). */
  wantEvents: boolean
  /** Return each changed row's old values too (for hooks' `args.before`; see `hook-rows.ts`). */
  before?: boolean
  /**
   * A condition on each of the statement's rows (`created`, `changed`), in the same statement: the
   * reference guard (see `reference-check.ts`), which raises rather than being false.
   */
  check?: RowCheck
  /** The change and its audit insert as two statements (Citus; see `split-audit-statement.ts`). */
  split?: boolean
  /** How an insert binds each value (default `bindValue`). */
  bind?: (model: TableModel, column: string, value: unknown) => unknown
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
  const bind = options.bind ?? bindValue
  const values = rows.map((row) => sql`(${sql.join(columns.map((c) => (c in row ? bind(model, c, row[c]) : DEFAULT)))})`)
  const insert =
    columns.length === 0
      ? sql`insert into ${tableRef(model)} default values returning *`
      : sql`insert into ${tableRef(model)} (${sql.join(columns.map((c) => sql.id(c)))}) values ${sql.join(values)} returning *`
  if (!options.audited && !options.check) return sql<Record<string, unknown>>`${insert}`
  // Citus does not route an INSERT inside a CTE: the reference check goes first, over the values (see `insertValuesCheck`).
  const onCitus = options.audited ? options.split : state.runtime.distributedAudit
  if (onCitus) {
    const statement = options.audited ? splitAuditInsert(state, model, action, insert, columns, options.wantEvents) : sql<Record<string, unknown>>`${insert}`
    return options.check ? precededBy(statement, insertValuesCheck(model, rows, options.check)) : statement
  }
  const audit = options.audited
    ? sql`, audit as (${auditInsertFromCte(state, model, action, { after: 'created', before: null, createdFields: columns, returning: options.wantEvents })})`
    : sql``
  return sql<Record<string, unknown>>`with created as (${insert})${audit}
    ${finalSelect(model, 'created', options.audited, options.wantEvents, options.check)}`
}

export interface TargetRows {
  visibility: RowVisibility
  /** Filters beyond the scope: the primary key, a compiled `where`, ... */
  filters: RawBuilder<SqlBool>[]
}

export function targetCte(model: TableModel, target: TargetRows): RawBuilder<unknown> {
  const conditions = [rowVisibilityCondition(model, 't', target.visibility), ...target.filters]
  return sql`select t.* from ${tableRef(model)} as t where ${sql.join(conditions, sql` and `)}
    order by t.${sql.id(model.primaryKey)} for update of t`
}

/** An UPDATE's `SET`: column → value (bound as a parameter) or SQL expression (`now()`). */
export type Assignments = Readonly<Record<string, unknown>>

/**
 * `update ... set ...` of the scoped target rows (locked in primary-key order, so concurrent bulk
 * updates do not deadlock), plus one audit row per updated record with old and new values.
 */
export function updateStatement(
  state: RequestState,
  model: TableModel,
  target: TargetRows,
  assignments: Assignments,
  action: string,
  options: WriteOptions & { guard?: RawBuilder<SqlBool>; auditMetadata?: Record<string, unknown> },
): RawBuilder<Record<string, unknown>> {
  const pk = sql.id(model.primaryKey)
  const guard = options.guard ? sql` and ${options.guard}` : sql``
  const set = Object.entries(assignments).map(([column, value]) => sql`${sql.id(column)} = ${value}`)
  const update = sql`update ${tableRef(model)} as u set ${sql.join(set)}
    from target where u.${pk} = target.${pk}${guard}${tenantShardFilter(model, 'u', target.visibility, options.split)} returning u.*`
  const sources = {
    after: 'changed',
    before: 'target',
    assigned: Object.keys(assignments),
    returning: options.wantEvents,
    ...(options.auditMetadata ? { metadata: options.auditMetadata } : {}),
  }
  if (options.audited && options.split) {
    const ctes = sql`target as (${targetCte(model, target)}), changed as (${update})`
    return splitAuditStatement(state, model, action, ctes, sources, options.wantEvents, splitShape(model, options))
  }
  const audit = options.audited ? sql`, audit as (${auditInsertFromCte(state, model, action, sources)})` : sql``
  const select = finalSelect(model, 'changed', options.audited, options.wantEvents, options.check)
  return sql<Record<string, unknown>>`with target as (${targetCte(model, target)}), changed as (${update})${audit}
    ${options.before ? selectWithBefore(model, select) : select}`
}

/** The reference check and the hooks' old rows of a split (Citus) update statement. */
function splitShape(model: TableModel, options: WriteOptions): SplitStatementShape {
  return {
    ...(options.check ? { check: options.check } : {}),
    ...(options.before ? { wrap: (select: RawBuilder<unknown>) => selectWithBefore(model, select) } : {}),
  }
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
  const remove = sql`delete from ${tableRef(model)} as d using target where d.${pk} = target.${pk}${tenantShardFilter(model, 'd', target.visibility, options.split)} returning d.*`
  if (options.audited && options.split) {
    return splitAuditStatement(
      state,
      model,
      action,
      sql`target as (${targetCte(model, target)}), removed as (${remove})`,
      { after: null, before: 'removed' },
      options.wantEvents,
    )
  }
  const audit = options.audited
    ? sql`, audit as (${auditInsertFromCte(state, model, action, { after: null, before: 'removed', returning: options.wantEvents })})`
    : sql``
  return sql<Record<string, unknown>>`with target as (${targetCte(model, target)}), removed as (${remove})${audit}
    ${finalSelect(model, 'removed', options.audited, options.wantEvents)}`
}
