import { sql, type Kysely, type Transaction } from 'kysely'
import type { AuditEvent } from '../audit/audit-event.js'
import { dispatchToSink } from '../audit/audit-sink.js'
import { recordOutcome, type OutcomeRecord } from '../audit/audit-statement.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import type { ScopeState } from './runtime.js'

/**
 * Sets the scope's identity for row-level security, transaction-locally (`set_config(..., true)`),
 * so it can never leak to the next borrower of a pooled connection. Query mode needs nothing.
 */
export async function applyContext(trx: Transaction<any>, state: ScopeState): Promise<void> {
  if (state.runtime.isolation !== 'rls') return
  if (state.system) {
    await sql`select set_config('tenantry.system', 'on', true), set_config('tenantry.tenant_id', '', true)`.execute(trx)
    return
  }
  await sql`select set_config('tenantry.tenant_id', ${state.context?.tenantId ?? ''}, true),
                   set_config('tenantry.actor_id', ${state.context?.actorId ?? ''}, true)`.execute(trx)
}

/**
 * Runs `work` as one unit: on the open transaction when there is one, else in a new transaction
 * when `needsTransaction` (hooks) or row-level security requires it, else as a single autocommit
 * statement (one round trip). Audit events are handed to the sink only after commit.
 */
export async function inUnitOfWork<T>(
  state: ScopeState,
  needsTransaction: boolean,
  work: (db: Kysely<any>, inner: ScopeState, events: AuditEvent[]) => Promise<T>,
): Promise<T> {
  if (state.trx) {
    const events: AuditEvent[] = []
    const result = await work(state.trx, state, events)
    state.pendingEvents?.push(...events)
    return result
  }
  const events: AuditEvent[] = []
  let result: T
  if (needsTransaction || state.runtime.isolation === 'rls') {
    result = await state.runtime.root.transaction().execute(async (trx) => {
      await applyContext(trx, state)
      return work(trx, { ...state, trx, pendingEvents: events, deferredOutcomes: null }, events)
    })
  } else {
    result = await work(state.runtime.root, state, events)
  }
  await dispatchToSink(state.runtime, events)
  return result
}

/** `scope.transaction(fn)`: one database transaction; audit events reach the sink after commit. */
export async function inTransaction<T>(state: ScopeState, fn: (inner: ScopeState) => Promise<T>): Promise<T> {
  if (state.trx) return fn(state)
  // Read the table columns first: inside the transaction that read would need a second connection.
  await state.runtime.ready()
  const events: AuditEvent[] = []
  const outcomes: OutcomeRecord[] = []
  let result: T
  try {
    result = await state.runtime.root.transaction().execute(async (trx) => {
      await applyContext(trx, state)
      return fn({ ...state, trx, pendingEvents: events, deferredOutcomes: outcomes })
    })
  } catch (error) {
    throw mapDatabaseError(error)
  } finally {
    for (const outcome of outcomes) await recordOutcome(state, outcome)
  }
  await dispatchToSink(state.runtime, events)
  return result
}
