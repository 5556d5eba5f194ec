import { sql, type Kysely, type RawBuilder } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import { requestActorId, requestTenantId, type RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import { tenantPredicate, type RowVisibility } from '../predicates/row-visibility.js'
import { AUDIT_COLUMNS, AUDIT_ROW, auditMetadata, auditRowValues, auditRowToEvent, auditTable, type AuditSources } from './audit-statement.js'
import { collectAuditEvents } from './audited-write.js'
import { tenantlessAuditError } from './tenantless-audit.js'

/**
 * Audited writes on Citus: two single-shard statements in one transaction instead of one
 * data-modifying CTE. Citus plans `with changed as (update ...) insert into audit_logs select ...
 * from changed` as distributed subplans (the changed rows pulled to the coordinator, then inserted
 * back); split in two, each statement is one task on the tenant's node:
 * 1. the change. An UPDATE or DELETE returns its rows and, per row, the audit values
 *    (`auditRowValues`, the very expressions of the one-statement path: old and new values,
 *    changed fields, redaction); an INSERT (which Citus would not route inside a CTE) its rows;
 * 2. the audit insert: `insert into audit_logs ... values (...)` of those values, bound as
 *    parameters with the tenant as a value, so Citus routes it to the tenant's shard; for an
 *    INSERT, `insert into audit_logs ... select` of the new rows read back by key on their shard.
 * Used when `audit_logs` is a distributed table (`TenantryRuntime.distributedAudit`); single-node
 * installs keep the one statement and its one round trip.
 */

/** Per-row audit values the change statement returns; stripped before rows reach the caller. */
const VALUE_COLUMNS = {
  tenant: '__tenantry_audit_tenant',
  resource: '__tenantry_audit_resource',
  old: '__tenantry_audit_old',
  new: '__tenantry_audit_new',
  changed: '__tenantry_audit_changed',
} as const

/** Audit rows per insert: 14 parameters each, far below PostgreSQL's 65,535. */
const AUDIT_ROWS_PER_INSERT = 1000

interface SplitAudit {
  state: RequestState
  model: TableModel
  action: string
  wantEvents: boolean
  /** Set for inserts: the audit insert reads the new rows back on their shard (`createdAuditInsert`). */
  createdFields?: string[]
  /** Added to each audit row's `metadata` (`AuditSources.metadata`). */
  metadata?: Record<string, unknown>
}

/** How the repository shapes a split change statement: its reference check, and the old rows its hooks want. */
export interface SplitStatementShape {
  /** The condition each row of the final select must pass, given the row's alias (the reference guard). */
  check?: (row: string) => RawBuilder<unknown>
  /** Wraps the final select (adds each row's old version for hooks' `args.before`). */
  wrap?: (select: RawBuilder<unknown>) => RawBuilder<unknown>
}

/** The second statement each split change statement needs, keyed by the statement (as Kysely keys per-query state). */
const pendingAudits = new WeakMap<object, SplitAudit>()

/** A check sent just before its statement (an insert's reference check on Citus), keyed by the statement. */
const prechecks = new WeakMap<object, RawBuilder<unknown>>()

/**
 * Marks `statement` so that `runWriteStatement` sends `precheck` first, on the same connection:
 * the reference check of an insert on Citus (`insertValuesCheck`), which raises when it fails.
 */
export function precededBy<T>(statement: RawBuilder<T>, precheck: RawBuilder<unknown>): RawBuilder<T> {
  prechecks.set(statement, precheck)
  return statement
}

/**
 * Whether a write to `model` goes as the statement pair: `audit_logs` is distributed (Citus), and
 * the table has a tenant column. A table seen through the tenant's memberships (`users`, a
 * reference table) keeps the one-statement CTE in a tenant scope: Citus cannot route its change
 * joined to the memberships, and plans the CTE with intermediate results instead. In a system
 * scope it goes as the pair too, so that its audit event without a tenant is refused clearly.
 */
export function splitsAudit(state: RequestState, model: TableModel): boolean {
  return state.runtime.distributedAudit && (model.tenantColumn !== null || requestTenantId(state) === null)
}

/**
 * `with <ctes> select <rows>.*, <audit values> from <cte> as audit_row [join <before> as
 * audit_previous]`: a split change statement, marked for `runWriteStatement` to send its audit
 * insert. The JSON values go as text, so numbers keep every digit on their way back as parameters.
 */
export function splitAuditStatement(
  state: RequestState,
  model: TableModel,
  action: string,
  ctes: RawBuilder<unknown>,
  sources: AuditSources,
  wantEvents: boolean,
  shape: SplitStatementShape = {},
): RawBuilder<Record<string, unknown>> {
  const { pk, main, row, tenant, oldValues, newValues, changed, join } = auditRowValues(state, model, sources)
  const where = shape.check ? sql` where ${shape.check(AUDIT_ROW)}` : sql``
  const select = sql`select ${row}.*, ${tenant}::text as ${sql.id(VALUE_COLUMNS.tenant)}, ${row}.${pk}::text as ${sql.id(VALUE_COLUMNS.resource)},
      (${oldValues})::text as ${sql.id(VALUE_COLUMNS.old)}, (${newValues})::text as ${sql.id(VALUE_COLUMNS.new)},
      ${changed} as ${sql.id(VALUE_COLUMNS.changed)}
    from ${sql.id(main)} as ${row}${join}${where}`
  const statement = sql<Record<string, unknown>>`with ${ctes}
    ${shape.wrap ? shape.wrap(select) : select}`
  pendingAudits.set(statement, { state, model, action, wantEvents, ...(sources.metadata ? { metadata: sources.metadata } : {}) })
  return statement
}

/**
 * A system scope's update or delete of a distributed table has no tenant to route by: its statement
 * locks the target rows on every shard, which Citus refuses (SQLSTATE 0A000). This names that limit
 * and the way out instead of a bare SQLSTATE; any other error is returned as it is.
 *
 * @example
 * throw explainCitusLimit(state, mapDatabaseError(error, 'projects.update'), 'projects.update')
 */
export function explainCitusLimit(state: RequestState, error: unknown, operation: string): unknown {
  if (!(error instanceof TenantryError) || error.sqlState !== '0A000' || !state.runtime.distributedAudit || requestTenantId(state) !== null) return error
  return new TenantryError(
    'CONFIGURATION',
    `${operation}: on Citus a system scope (asSystem) cannot change rows of a distributed table: the statement would lock its rows on every shard, which Citus refuses (SQLSTATE 0A000); make the change in the row's tenant scope (tenantry.withContext({ tenantId }))`,
    { ...(error.table ? { table: error.table } : {}), operation, sqlState: '0A000' },
    { cause: error.cause },
  )
}

/**
 * ` and <alias>.tenant_id = $tenant` on the row an UPDATE or DELETE changes, for split statements:
 * joined to the target CTE on the primary key alone, Citus cannot tell the change's shard and
 * sends it to every shard. Nothing on the one-statement path, nor for a system scope.
 */
export function tenantShardFilter(model: TableModel, alias: string, visibility: RowVisibility, split: boolean | undefined): RawBuilder<unknown> {
  // Only a tenant column routes; a table scoped through memberships (users) is a reference table.
  const predicate = split && model.tenantColumn ? tenantPredicate(model, alias, visibility.tenantId) : null
  return predicate ? sql` and ${predicate}` : sql``
}

/**
 * Marks a plain `insert ... returning *` (Citus plans an INSERT inside a CTE as distributed
 * subplans, unlike an UPDATE or DELETE) for `createdAuditInsert`.
 */
export function splitAuditInsert(
  state: RequestState,
  model: TableModel,
  action: string,
  insert: RawBuilder<unknown>,
  createdFields: string[],
  wantEvents: boolean,
  metadata?: Record<string, unknown>,
): RawBuilder<Record<string, unknown>> {
  const statement = sql<Record<string, unknown>>`${insert}`
  pendingAudits.set(statement, { state, model, action, wantEvents, createdFields, ...(metadata ? { metadata } : {}) })
  return statement
}

/**
 * `insert into audit_logs ... select ... from <table> as audit_row where <tenant> and <key> = any($keys)`:
 * the new rows read back by key, in the transaction that inserted them, so their audit values are
 * computed on the shard as on one node. Citus runs the select as one task on the tenant's node and
 * copies its rows through the coordinator into the audit shard (co-located: the same node); no
 * multi-shard task, no intermediate result.
 */
function createdAuditInsert(split: SplitAudit, keys: unknown[]): RawBuilder<Record<string, unknown>> {
  const { state, model, action } = split
  const { pk, row, tenant, newValues, changed } = auditRowValues(state, model, { after: 'created', before: null, createdFields: split.createdFields ?? [] })
  const keyType = model.columns.get(model.primaryKey)?.type ?? 'text'
  const tenantFilter = tenantPredicate(model, 'audit_row', requestTenantId(state))
  const where = sql`${row}.${pk} = any(${keys}::${sql.id(keyType)}[])${tenantFilter ? sql` and ${tenantFilter}` : sql``}`
  const ctx = state.context
  return sql<Record<string, unknown>>`insert into ${auditTable(state)} (${AUDIT_COLUMNS})
    select ${tenant}, ${requestActorId(state)}::uuid, ${action}, ${model.name}, ${row}.${pk}::text,
           null::jsonb, ${newValues}, ${changed}, ${ctx?.ip ?? null}::inet, ${ctx?.userAgent ?? null},
           ${ctx?.requestId ?? null}, 'success', null, ${auditMetadata(state, split.metadata)}::jsonb
      from ${sql.id(model.schema, model.table)} as ${row}
     where ${where}${returning(split)}`
}

/** The audit rows come back only for the sink: without one, nothing is sent back. */
function returning(split: SplitAudit): RawBuilder<unknown> {
  return split.wantEvents ? sql` returning *` : sql``
}

function auditValuesInsert(split: SplitAudit, rows: Record<string, unknown>[]): RawBuilder<Record<string, unknown>> {
  const { state, model, action } = split
  const ctx = state.context
  const actor = requestActorId(state)
  const metadata = auditMetadata(state, split.metadata)
  const values = rows.map(
    (r) => sql`(${r[VALUE_COLUMNS.tenant]}::uuid, ${actor}::uuid, ${action}, ${model.name}, ${r[VALUE_COLUMNS.resource]},
      ${r[VALUE_COLUMNS.old]}::jsonb, ${r[VALUE_COLUMNS.new]}::jsonb, ${r[VALUE_COLUMNS.changed]}::text[], ${ctx?.ip ?? null}::inet,
      ${ctx?.userAgent ?? null}, ${ctx?.requestId ?? null}, 'success', null, ${metadata}::jsonb)`,
  )
  return sql<Record<string, unknown>>`insert into ${auditTable(state)} (${AUDIT_COLUMNS}) values ${sql.join(values)}${returning(split)}`
}

/**
 * Sends the audit insert of a split change statement's `rows`, and strips the audit values from
 * them. Refuses a record without a tenant: a distributed `audit_logs` cannot hold it (Citus refuses
 * NULL in its distribution column), and the open transaction rolls the change back.
 */
async function insertSplitAudit(db: Kysely<any>, split: SplitAudit, rows: Record<string, unknown>[], events: AuditEvent[]): Promise<void> {
  if (split.createdFields) {
    const column = split.model.tenantColumn
    const tenantless = column ? rows.some((r) => r[column] === null) : split.state.context?.tenantId == null
    if (tenantless) throw tenantlessAuditError(split.action)
    for (let from = 0; from < rows.length; from += AUDIT_ROWS_PER_INSERT) {
      const keys = rows.slice(from, from + AUDIT_ROWS_PER_INSERT).map((r) => r[split.model.primaryKey])
      const { rows: audit } = await createdAuditInsert(split, keys).execute(db)
      if (split.wantEvents) for (const record of audit) events.push(auditRowToEvent(record))
    }
    return
  }
  if (rows.some((r) => r[VALUE_COLUMNS.tenant] === null)) throw tenantlessAuditError(split.action)
  for (let from = 0; from < rows.length; from += AUDIT_ROWS_PER_INSERT) {
    const { rows: audit } = await auditValuesInsert(split, rows.slice(from, from + AUDIT_ROWS_PER_INSERT)).execute(db)
    if (split.wantEvents) for (const record of audit) events.push(auditRowToEvent(record))
  }
  for (const row of rows) for (const column of Object.values(VALUE_COLUMNS)) delete row[column]
}

/**
 * Runs a write statement and hands its audit events to `events`: the one-statement path collects
 * the audit rows its CTE returned; a split statement (Citus) gets its audit insert here, on the
 * same connection and transaction.
 *
 * @example
 * const rows = await runWriteStatement(trx, updateStatement(state, model, target, assignments, action, options), events)
 */
export async function runWriteStatement(
  db: Kysely<any>,
  statement: RawBuilder<Record<string, unknown>>,
  events: AuditEvent[],
): Promise<Record<string, unknown>[]> {
  const precheck = prechecks.get(statement)
  if (precheck) await precheck.execute(db)
  const { rows } = await statement.execute(db)
  const split = pendingAudits.get(statement)
  if (!split) return collectAuditEvents(rows, events)
  if (rows.length > 0) await insertSplitAudit(db, split, rows, events)
  return rows
}
