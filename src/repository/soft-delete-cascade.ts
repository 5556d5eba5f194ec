import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely'
import { runWriteStatement, splitsAudit } from '../execution/split-audit-statement.js'
import { authorizeTableAccess } from '../execution/table-permissions.js'
import { rowVisibilityCondition, sameTenantPredicate, softDeleteAssignments } from '../predicates/row-visibility.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { deletedAtColumn, referencesTo } from '../schema/references.js'
import type { TableModel } from '../schema/table-model.js'
import { deletedStateCheck, withCheck } from './reference-check.js'
import { updateStatement, type TargetRows } from './write-statements.js'
import { stampUpdatedAt } from './write-input.js'

/**
 * `onSoftDelete: 'cascade'`: soft-deleting a row soft-deletes the live rows that reference it, in
 * the same transaction, one audit row each (`<child>.softDelete`, metadata `cascade`), and so on
 * down; restoring it restores exactly those rows.
 *
 * How a restore knows which rows the cascade deleted: they carry the parent's soft-delete time.
 * All statements of a transaction see the same `now()`, so the cascade stamps each child with the
 * very value its parent got; a child deleted earlier carries an earlier time and stays deleted.
 * (A child soft-deleted by itself earlier in the same transaction as its parent shares the time
 * and comes back with it.) Hence `'cascade'` needs a soft-delete time on both tables.
 */

/** Whether soft-deleting a row of `parent` cascades to other rows (and so needs a transaction). */
export function hasCascade(state: RequestState, parent: TableModel): boolean {
  return referencesTo(state.runtime.models, parent).some(({ reference }) => reference.onSoftDelete === 'cascade')
}

/** Whether the write `op` on `model` follows cascades (several statements: a transaction). */
export function cascadesFrom(state: RequestState, model: TableModel, op: string): boolean {
  return (op === 'softDelete' || op === 'softDeleteMany' || op === 'restore') && hasCascade(state, model)
}

/**
 * The soft-delete time of the one deleted row a restore targets, as text (microseconds intact), or
 * `null` when no row matches. Read before the restore clears it.
 */
export async function deletedAtOf(db: Kysely<any>, model: TableModel, target: TargetRows): Promise<string | null> {
  const column = deletedAtColumn(model)
  if (!column) return null
  const conditions = [rowVisibilityCondition(model, 't', target.visibility), ...target.filters]
  const { rows } = await sql<{ deleted_at: string | null }>`select t.${sql.id(column)}::text as deleted_at
    from ${sql.id(model.schema, model.table)} as t where ${sql.join(conditions, sql` and `)} limit 1`.execute(db)
  return rows[0]?.deleted_at ?? null
}

export interface CascadeStep {
  db: Kysely<any>
  state: RequestState
  events: AuditEvent[]
  /** Whether to return each row's audit record for the sink. */
  wantEvents: boolean
}

/**
 * Follows a soft delete (`to: 'deleted'`) or a restore (`to: 'live'`, with the parent's former
 * soft-delete time `deletedAt`) of `rows` of `parent` to the tables that reference it with
 * `onSoftDelete: 'cascade'`, recursively. Each child statement carries its own guards: a
 * `restrict` below a cascade still refuses, a restored row's references must be live.
 */
export async function cascadeDeletedState(
  step: CascadeStep,
  parent: TableModel,
  rows: Record<string, unknown>[],
  to: 'deleted' | 'live',
  deletedAt: string | null,
): Promise<void> {
  const ids = rows.map((row) => row[parent.primaryKey])
  if (ids.length === 0 || (to === 'live' && deletedAt === null)) return
  for (const { child, reference } of referencesTo(step.state.runtime.models, parent)) {
    if (reference.onSoftDelete !== 'cascade') continue
    const childTenant = sql`t.${sql.id(child.tenantColumn!)}`
    const filters: RawBuilder<SqlBool>[] = [
      sql<SqlBool>`exists (select 1 from ${sql.id(parent.schema, parent.table)} as p where p.${sql.id(parent.primaryKey)} = t.${sql.id(reference.column)}
        and ${sameTenantPredicate(parent, 'p', childTenant)} and p.${sql.id(parent.primaryKey)} = any(${ids}))`,
    ]
    // Untyped, so PostgreSQL reads the text as the column's own type (timestamptz or timestamp).
    if (to === 'live') filters.push(sql<SqlBool>`t.${sql.id(deletedAtColumn(child)!)} = ${deletedAt}`)
    const target: TargetRows = { visibility: { tenantId: requestTenantId(step.state), view: to === 'deleted' ? 'live' : 'deleted' }, filters }
    const assignments = stampUpdatedAt(child, softDeleteAssignments(child, to))
    const statement = updateStatement(step.state, child, target, assignments, `${child.name}.${to === 'deleted' ? 'softDelete' : 'restore'}`, {
      audited: child.auditEnabled,
      wantEvents: child.auditEnabled && step.wantEvents,
      split: child.auditEnabled && splitsAudit(step.state, child),
      auditMetadata: { cascade: { from: parent.name, column: reference.column } },
      ...withCheck(deletedStateCheck(step.state, child, to)),
    })
    const changed = await runWriteStatement(step.db, statement, step.events)
    // A cascade writes the child table: it needs the child's declared write permission, but only when it changes a row
    // (refusing throws, and the transaction rolls the parent back too).
    if (changed.length > 0 && child.definition.permissions) {
      await authorizeTableAccess(step.state, child, 'write', { action: `${child.name}.${to === 'deleted' ? 'softDelete' : 'restore'}` })
    }
    await cascadeDeletedState(step, child, changed, to, deletedAt)
  }
}
