import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely'
import { collectAuditEvents } from '../execution/audited-write.js'
import { runWriteStatement } from '../execution/split-audit-statement.js'
import type { RowVisibility } from '../predicates/row-visibility.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import type { RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import { executeCached } from './statement-cache.js'
import { assignmentsFor, stampUpdatedAt } from './write-input.js'
import { insertStatement, isJson, updateStatement, type TargetRows, type WriteOptions } from './write-statements.js'

/**
 * The hot single-row writes, compiled once per table and shape through `executeCached`: the
 * template is built by the same statement builders as every other write (`write-statements.ts`),
 * from placeholders for the call's values and the context's, so no value of a call, the tenant's
 * least of all, is ever part of it. Each call only binds values.
 */

/**
 * Runs `insertStatement` for `rows` and returns the created rows, their audit events added to
 * `events`. A one-row insert of a tenant scope (`create`) is compiled once per table and shape (op,
 * columns, audit, check) through `executeCached`: the template is built with the same code, from
 * placeholders for the row's values and the context's, so no value of a call, the tenant's least of
 * all, is ever part of it. A system scope (its reason is in the audit metadata), several rows and
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
  const values = [...columns.map((column) => jsonText(model, column, row[column])), ctx.tenantId, ctx.actorId, ctx.ip, ctx.userAgent, ctx.requestId]
  const shape = `insert:${action}:${columns.join(',')}:${options.audited}:${options.wantEvents}:${options.check !== undefined}`
  const { rows: created } = await executeCached(db, model, shape, values, (...placeholders) => {
    const [tenantId, actorId, ip, userAgent, requestId] = placeholders.slice(columns.length) as [string, string, string, string, string]
    const template: RequestState = { ...state, context: { tenantId, actorId, ip, userAgent, requestId } }
    const placeholderRow = Object.fromEntries(columns.map((column, i) => [column, placeholders[i]]))
    return insertStatement(template, model, [placeholderRow], action, { ...options, bind: bindJsonText })
  })
  return collectAuditEvents(created, events)
}

/** JSON columns take their value as JSON text (`bindJsonText`); any other value is returned as it is. */
function jsonText(model: TableModel, column: string, value: unknown): unknown {
  return isJson(model, column) && value !== null && value !== undefined ? JSON.stringify(value) : value
}

/** `bindValue` for values `jsonText` prepared: JSON columns always cast, the text (or null) bound as one parameter. */
function bindJsonText(model: TableModel, column: string, value: unknown): unknown {
  return isJson(model, column) ? sql`${value}::${sql.raw(model.columns.get(column)!.type)}` : value
}

/**
 * Runs `updateStatement` for the row with primary key `key` in `visibility` and returns the changed
 * rows, their audit events added to `events`. `update(id, patch)` in a tenant scope is compiled once
 * per table and shape (view, action, columns and which of them take SQL, audit, check, old rows
 * for hooks), from placeholders for the key, the patch's values and the context's, like
 * `executeInsert`. A system scope, an `expectedUpdatedAt` guard and Citus are built per call.
 */
export async function executeUpdate(
  db: Kysely<any>,
  state: RequestState,
  model: TableModel,
  visibility: RowVisibility,
  key: string | number,
  values: Record<string, unknown>,
  action: string,
  options: WriteOptions & { guard?: RawBuilder<SqlBool> },
  events: AuditEvent[],
): Promise<Record<string, unknown>[]> {
  const ctx = state.context
  if (ctx === null || state.system !== null || options.split || options.guard || state.runtime.distributedAudit || visibility.tenantId === null) {
    return runWriteStatement(db, updateStatement(state, model, byKey(model, visibility, key), assignmentsFor(model, values), action, options), events)
  }
  const columns = Object.keys(values)
  const bound = [key, ...columns.map((column) => jsonText(model, column, values[column])), ctx.tenantId, ctx.actorId, ctx.ip, ctx.userAgent, ctx.requestId]
  const flags = `${options.audited}:${options.wantEvents}:${options.check !== undefined}:${options.before === true}`
  const shape = `update:${action}:${visibility.view}:${columns.join(',')}:${flags}`
  const { rows } = await executeCached(db, model, shape, bound, (id, ...placeholders) => {
    const [tenantId, actorId, ip, userAgent, requestId] = placeholders.slice(columns.length) as [string, string, string, string, string]
    const template: RequestState = { ...state, context: { tenantId, actorId, ip, userAgent, requestId } }
    const assignments: Record<string, unknown> = {}
    columns.forEach((column, i) => {
      assignments[column] = bindJsonText(model, column, placeholders[i])
    })
    return updateStatement(
      template,
      model,
      byKey(model, { ...visibility, tenantId }, id),
      'updated_at' in values ? assignments : stampUpdatedAt(model, assignments),
      action,
      options,
    )
  })
  return collectAuditEvents(rows, events)
}

/** The scoped target of a by-key write: `t.<pk> = key` in `visibility`. */
function byKey(model: TableModel, visibility: RowVisibility, key: unknown): TargetRows {
  return { visibility, filters: [sql<SqlBool>`t.${sql.id(model.primaryKey)} = ${key}`] }
}
