import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely'
import { collectAuditEvents } from '../execution/audited-write.js'
import { runWriteStatement } from '../execution/split-audit-statement.js'
import type { RowVisibility } from '../predicates/row-visibility.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import type { RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import type { TenantContext } from '../validation/context.js'
import { primaryKeyEquals } from './read-statements.js'
import { executeCached } from './statement-cache.js'
import { assignmentsFor } from './write-input.js'
import { insertStatement, isJson, updateStatement, type Assignments, type TargetRows, type WriteOptions } from './write-statements.js'

/**
 * The hot single-row writes, compiled once per table and shape through `executeCached`: the
 * template is built by the same statement builders as every other write (`write-statements.ts`),
 * from placeholders for the call's values and the context's, so no value of a call, the tenant's
 * least of all, is ever part of it. Each call only binds values.
 */

/**
 * Runs `insertStatement` for `rows` and returns the created rows, their audit events added to
 * `events`. A one-row insert of a tenant scope (`create`) is compiled once per table and shape (op,
 * columns, audit, check). A system scope (its reason is in the audit metadata), several rows and
 * Citus are built per call.
 */
export async function executeInsert(
  db: Kysely<any>,
  state: RequestState,
  model: TableModel,
  rows: Record<string, unknown>[],
  action: string,
  options: WriteOptions,
  events: AuditEvent[],
): Promise<Record<string, unknown>[]> {
  const ctx = state.context
  if (rows.length !== 1 || ctx === null || state.system !== null || state.runtime.distributedAudit) {
    return runWriteStatement(db, insertStatement(state, model, rows, action, options), events)
  }
  const row = rows[0]!
  const columns = Object.keys(row)
  const values = [...columns.map((column) => jsonText(model, column, row[column])), ...contextValues(ctx)]
  const shape = `insert:${action}:${columns.join(',')}:${options.audited}:${options.wantEvents}:${options.check !== undefined}`
  const { rows: created } = await executeCached(db, model, shape, values, (...placeholders) => {
    const placeholderRow = Object.fromEntries(columns.map((column, i) => [column, placeholders[i]]))
    return insertStatement(withContextPlaceholders(state, placeholders.slice(columns.length)), model, [placeholderRow], action, {
      ...options,
      bind: bindJsonText,
    })
  })
  return collectAuditEvents(created, events)
}

/** The request context's values, in the order `withContextPlaceholders` reads their placeholders. */
function contextValues(ctx: TenantContext): unknown[] {
  return [ctx.tenantId, ctx.actorId, ctx.ip, ctx.userAgent, ctx.requestId]
}

/** `state` with a context of placeholders (as `contextValues` orders them), for a template. */
function withContextPlaceholders(state: RequestState, placeholders: string[]): RequestState {
  const [tenantId, actorId, ip, userAgent, requestId] = placeholders as [string, string, string, string, string]
  return { ...state, context: { tenantId, actorId, ip, userAgent, requestId } }
}

/** JSON columns take their value as JSON text (`bindJsonText`); any other value is returned as it is. */
function jsonText(model: TableModel, column: string, value: unknown): unknown {
  return isJson(model, column) && value !== null && value !== undefined ? JSON.stringify(value) : value
}

/** `bindValue` for values `jsonText` prepared: JSON columns always cast, the text (or null) bound as one parameter. */
function bindJsonText(model: TableModel, column: string, value: unknown): unknown {
  return isJson(model, column) ? sql`${value}::${sql.raw(model.columns.get(column)!.type)}` : value
}

/** The `SET` of a by-key update: the values each call binds, and the assignments made from them. */
export interface UpdateSet {
  values: unknown[]
  /** Identifies the `SET`'s SQL text among a table's updates. */
  shape: string
  /** The assignments, from `values` or from one placeholder per value. */
  assignments: (values: unknown[]) => Assignments
}

/** The `SET` of `update(id, patch)`: each column bound (JSON as text), `updated_at` moved unless the patch sets it. */
export function patchSet(model: TableModel, patch: Record<string, unknown>): UpdateSet {
  const columns = Object.keys(patch)
  return {
    values: columns.map((column) => jsonText(model, column, patch[column])),
    shape: columns.join(','),
    assignments: (values) => assignmentsFor(model, Object.fromEntries(columns.map((column, i) => [column, values[i]])), bindJsonText),
  }
}

/** A `SET` that holds no value of a call (`softDelete`, `restore`), named by `shape`. */
export function fixedSet(shape: string, assignments: Assignments): UpdateSet {
  return { values: [], shape, assignments: () => assignments }
}

/**
 * Runs `updateStatement` for the row with primary key `key` in `visibility` and returns the changed
 * rows, their audit events added to `events`. In a tenant scope it is compiled once per table and
 * shape (action, view, the `SET`, audit, check, old rows for hooks). A system scope, an
 * `expectedUpdatedAt` guard and Citus are built per call.
 */
export async function executeUpdate(
  db: Kysely<any>,
  state: RequestState,
  model: TableModel,
  visibility: RowVisibility,
  key: string | number,
  set: UpdateSet,
  action: string,
  options: WriteOptions & { guard?: RawBuilder<SqlBool> },
  events: AuditEvent[],
): Promise<Record<string, unknown>[]> {
  const ctx = state.context
  if (ctx === null || state.system !== null || options.split || options.guard || state.runtime.distributedAudit || visibility.tenantId === null) {
    return runWriteStatement(db, updateStatement(state, model, byKey(model, visibility, key), set.assignments(set.values), action, options), events)
  }
  const count = set.values.length
  const bound = [key, ...set.values, ...contextValues(ctx)]
  const flags = `${options.audited}:${options.wantEvents}:${options.check !== undefined}:${options.before === true}`
  const { rows } = await executeCached(db, model, `update:${action}:${visibility.view}:${set.shape}:${flags}`, bound, (id, ...placeholders) => {
    const template = withContextPlaceholders(state, placeholders.slice(count))
    const target = byKey(model, { ...visibility, tenantId: template.context!.tenantId }, id)
    return updateStatement(template, model, target, set.assignments(placeholders.slice(0, count)), action, options)
  })
  return collectAuditEvents(rows, events)
}

/** The scoped target of a by-key write: `t.<pk> = key` in `visibility`. */
function byKey(model: TableModel, visibility: RowVisibility, key: unknown): TargetRows {
  return { visibility, filters: [primaryKeyEquals(model, key)] }
}
