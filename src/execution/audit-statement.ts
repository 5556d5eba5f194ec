import { sql, type RawBuilder } from 'kysely'
import { requestActorId, type RequestState } from '../runtime/runtime.js'
import { transactionOnNewConnection } from './context-transaction.js'
import { dispatchToSink } from './audit-sink.js'
import type { TableModel } from '../schema/table-model.js'
import type { AuditEvent, OutcomeRecord } from '../runtime/audit-event.js'
import { storableOutcome, unstoredOutcomeEvent } from './tenantless-audit.js'

export const AUDIT_COLUMNS = sql.raw(
  'tenant_id, actor_user_id, action, resource_type, resource_id, old_values, new_values, changed_fields, ip, user_agent, request_id, outcome, error_code, metadata',
)

/** The alias of the changed row in the audit select (`auditRowValues`). */
export const AUDIT_ROW = 'audit_row'

/** Columns that are bookkeeping, not a change worth listing in `changed_fields`. */
const NOT_A_CHANGE = ['updated_at']

export function auditTable(state: RequestState): RawBuilder<unknown> {
  return sql`${sql.id(state.runtime.schema, 'audit_logs')}`
}

export function auditMetadata(state: RequestState, extra: Record<string, unknown> = {}): string {
  const metadata = state.system ? { system: true, reason: state.system.reason, ...extra } : extra
  return JSON.stringify(metadata)
}

export interface AuditSources {
  /** CTE holding the rows after the change (`null` for purge). */
  after: string | null
  /** CTE holding the rows before the change, joined on the primary key (`null` for create). */
  before: string | null
  /** `changed_fields` for creates: the columns the input set. */
  createdFields?: string[]
  /**
   * For an update: the columns its `SET` names. `changed_fields` then compares only these (and the
   * table's `updateSideEffects`), unless a trigger may change any column. Without it, every column.
   */
  assigned?: readonly string[]
  /** Added to each row's `metadata` (a soft delete that cascaded from a parent says so). */
  metadata?: Record<string, unknown>
  /** Return the audit rows (`returning *`), for a statement that hands them to the sink. Defaults to true. */
  returning?: boolean
}

/**
 * The audit values of one changed record, over `audit_row` (the row after the change, else before)
 * and `audit_previous` (the row before, when there are both): shared by the one-statement audit CTE
 * and the Citus statement pair (`split-audit-statement.ts`), so both write the same audit rows.
 */
export function auditRowValues(state: RequestState, model: TableModel, sources: AuditSources) {
  const pk = sql.id(model.primaryKey)
  const redacted = sql`${model.redacted}::text[]`
  const main = sources.after ?? sources.before!
  const row = sql.id(AUDIT_ROW)
  const previous = sql.id('audit_previous')
  const tenant = model.tenantColumn ? sql`${row}.${sql.id(model.tenantColumn)}` : sql`${state.context?.tenantId ?? null}::uuid`
  // An update converts each row and its previous version to jsonb once, for the values and the changed fields alike
  // (`offset 0` keeps the planner from inlining the conversions back into every use).
  const both = sources.after !== null && sources.before !== null
  const json = sql.id('audit_json')
  const oldValues = both ? sql`${json}.o - ${redacted}` : sources.before ? sql`to_jsonb(${row}) - ${redacted}` : sql`null::jsonb`
  const newValues = both ? sql`${json}.n - ${redacted}` : sources.after ? sql`to_jsonb(${row}) - ${redacted}` : sql`null::jsonb`
  const changed = both ? changedFields(model, json, sources.assigned) : sources.after ? sql`${sources.createdFields ?? []}::text[]` : sql`null::text[]`
  const join = both
    ? sql` join ${sql.id(sources.before!)} as ${previous} on ${previous}.${pk} = ${row}.${pk}
      cross join lateral (select to_jsonb(${row}) as n, to_jsonb(${previous}) as o offset 0) as ${json}`
    : sql``
  return { pk, main, row, previous, tenant, oldValues, newValues, changed, join }
}

/**
 * `changed_fields` of an update over `json.n` and `json.o` (the row after and before, as jsonb),
 * sorted, bookkeeping columns left out. When the columns that can change are known (those the
 * statement sets, plus generated ones), only they are compared, in a plain expression: comparing
 * every column takes a set-returning subquery and a sort per row, the costliest part of an audit row.
 * Both sort byte-wise (`collate "C"`), so the order does not depend on the database's collation.
 */
function changedFields(model: TableModel, json: RawBuilder<unknown>, assigned: readonly string[] | undefined): RawBuilder<unknown> {
  const sideEffects = model.updateSideEffects
  if (assigned === undefined || sideEffects === 'any') {
    return sql`array(select e.key from jsonb_each(${json}.n) as e
                where e.key <> all(${NOT_A_CHANGE}::text[]) and e.value is distinct from ${json}.o -> e.key order by e.key collate "C")`
  }
  const candidates = [...new Set([...assigned, ...sideEffects])].filter((column) => !NOT_A_CHANGE.includes(column)).sort()
  if (candidates.length === 0) return sql`'{}'::text[]`
  const tests = candidates.map((column) => {
    const key = sql.lit(column)
    return sql`case when ${json}.n -> ${key} is distinct from ${json}.o -> ${key} then ${key} end`
  })
  return sql`array_remove(array[${sql.join(tests)}], null)`
}

/**
 * The `insert into audit_logs ... select ... from <cte>` part of a write's data-modifying CTE:
 * one audit row per affected record, in the same statement (so the same transaction) as the change.
 */
export function auditInsertFromCte(state: RequestState, model: TableModel, action: string, sources: AuditSources): RawBuilder<unknown> {
  const { pk, main, row, tenant, oldValues, newValues, changed, join } = auditRowValues(state, model, sources)
  const returning =
    sources.returning === false
      ? sql``
      : sql`
    returning *`
  const ctx = state.context
  return sql`insert into ${auditTable(state)} (${AUDIT_COLUMNS})
    select ${tenant}, ${requestActorId(state)}::uuid, ${action}, ${model.name}, ${row}.${pk}::text,
           ${oldValues}, ${newValues}, ${changed}, ${ctx?.ip ?? null}::inet, ${ctx?.userAgent ?? null},
           ${ctx?.requestId ?? null}, 'success', null, ${auditMetadata(state, sources.metadata)}::jsonb
      from ${sql.id(main)} as ${row}${join}${returning}`
}

/**
 * Records a `failure` or `denied` row outside the (rolled back) transaction of the write, so the
 * record survives the rollback: at once when no transaction is open, else when `scope.transaction`
 * has ended. The event also goes to the sink.
 */
export async function recordOutcome(state: RequestState, record: OutcomeRecord): Promise<void> {
  if (state.trx && state.deferredOutcomes) {
    state.deferredOutcomes.push(record)
    return
  }
  const event = await writeOutcome(state, record)
  if (event) await dispatchToSink(state.runtime, [event])
}

/**
 * `insert into audit_logs ... values (...) returning *` for one event that is not a row change
 * (a failure, a denial, a custom event), with the scope's actor, ip, user agent and request id.
 */
export function auditEventInsert(state: RequestState, record: OutcomeRecord): RawBuilder<Record<string, unknown>> {
  const ctx = state.context
  const tenantId = record.tenantId !== undefined ? record.tenantId : (ctx?.tenantId ?? null)
  return sql<Record<string, unknown>>`insert into ${auditTable(state)} (${AUDIT_COLUMNS})
    values (${tenantId}::uuid, ${requestActorId(state)}::uuid, ${record.action}, ${record.resourceType}, ${record.resourceId},
            null, null, null, ${ctx?.ip ?? null}::inet, ${ctx?.userAgent ?? null}, ${ctx?.requestId ?? null},
            ${record.outcome}, ${record.errorCode}, ${auditMetadata(state, record.metadata)}::jsonb)
    returning *`
}

/** Writes one outcome row on a connection of its own (autocommit, or a context-setting transaction under RLS). */
async function writeOutcome(state: RequestState, record: OutcomeRecord): Promise<AuditEvent | null> {
  if (!storableOutcome(state, record)) return unstoredOutcomeEvent(state, record)
  const statement = auditEventInsert(state, record)
  try {
    const runtime = state.runtime
    const outside: RequestState = { ...state, trx: null, pendingEvents: null, deferredOutcomes: null }
    const { rows } =
      runtime.isolation === 'rls' ? await transactionOnNewConnection(outside, (trx) => statement.execute(trx)) : await statement.execute(runtime.root)
    return rows[0] ? auditRowToEvent(rows[0]) : null
  } catch {
    // The audit record of a failure must never mask the failure itself.
    return null
  }
}

/** Maps an `audit_logs` row (snake_case) to an `AuditEvent`. */
export function auditRowToEvent(row: Record<string, unknown>): AuditEvent {
  return {
    id: row.id as string,
    tenantId: (row.tenant_id as string | null) ?? null,
    actorUserId: (row.actor_user_id as string | null) ?? null,
    action: row.action as string,
    resourceType: (row.resource_type as string | null) ?? null,
    resourceId: (row.resource_id as string | null) ?? null,
    oldValues: (row.old_values as Record<string, unknown> | null) ?? null,
    newValues: (row.new_values as Record<string, unknown> | null) ?? null,
    changedFields: (row.changed_fields as string[] | null) ?? null,
    ip: (row.ip as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    requestId: (row.request_id as string | null) ?? null,
    outcome: row.outcome as AuditEvent['outcome'],
    errorCode: (row.error_code as string | null) ?? null,
    metadata: (row.metadata as Record<string, unknown>) ?? {},
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(String(row.created_at)),
  }
}
