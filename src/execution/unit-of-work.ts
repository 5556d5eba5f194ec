import type { Kysely } from 'kysely'
import type { AuditEvent, OutcomeRecord } from '../runtime/audit-event.js'
import { dispatchToSink } from './audit-sink.js'
import { recordOutcome } from './audit-statement.js'
import { beginWithContextQuery, inAutocommit, needsContextTransaction, transactionOnNewConnection } from './context-transaction.js'
import { autocommitWithContext } from './pipelined-connection.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { resolveRetry, withRetry, type RetryOption } from '../runtime/retry-policy.js'
import type { RequestState } from '../runtime/runtime.js'

export interface UnitOfWorkOptions {
  /** The work only reads: a lost connection is always retryable, never `OUTCOME_UNKNOWN`. */
  readOnly?: boolean
}

/**
 * Runs `work` as one unit: on the open transaction when there is one, else in a new transaction
 * when `needsTransaction` (hooks) or the context settings require it (row-level security, or
 * `triggerContext` for a write), else as a single autocommit
 * statement (one round trip). Audit events are handed to the sink only after commit.
 */
export function inUnitOfWork<T>(
  state: RequestState,
  needsTransaction: boolean,
  work: (db: Kysely<any>, inner: RequestState, events: AuditEvent[]) => Promise<T>,
  options: UnitOfWorkOptions = {},
): Promise<T> {
  // A read outside a transaction in query mode is one autocommit statement on the root that hands
  // nothing to the sink (see `inAutocommit`): the hot path, with nothing around it.
  if (options.readOnly === true && !state.trx && !needsTransaction && !needsContextTransaction(state.runtime, true)) {
    try {
      return work(state.runtime.root, state, NO_EVENTS)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return inNewOrOpenUnitOfWork(state, needsTransaction, work, options)
}

/** Reads collect no audit events; a frozen array says so if one ever tried. */
const NO_EVENTS: AuditEvent[] = Object.freeze([]) as unknown as AuditEvent[]

async function inNewOrOpenUnitOfWork<T>(
  state: RequestState,
  needsTransaction: boolean,
  work: (db: Kysely<any>, inner: RequestState, events: AuditEvent[]) => Promise<T>,
  options: UnitOfWorkOptions,
): Promise<T> {
  if (state.trx) {
    const events: AuditEvent[] = []
    const result = await work(state.trx, state, events)
    state.pendingEvents?.push(...events)
    return result
  }
  const events: AuditEvent[] = []
  let result: T
  const pipelined = state.runtime.pipelinedPool
  const withContext = needsContextTransaction(state.runtime, options.readOnly === true)
  if (!needsTransaction && withContext && pipelined) {
    // Each statement with its context in one flight (BEGIN, statement, COMMIT): one round trip.
    const inner = (trx: Kysely<any>): RequestState => ({ ...state, trx, pendingEvents: events, deferredOutcomes: null })
    result = await autocommitWithContext(pipelined, state, beginWithContextQuery(state), options.readOnly === true, (trx) => work(trx, inner(trx), events))
  } else if (needsTransaction || withContext) {
    result = await transactionOnNewConnection(state, (trx) => work(trx, { ...state, trx, pendingEvents: events, deferredOutcomes: null }, events), options)
  } else {
    result = await inAutocommit(state.runtime.root, options.readOnly === true, (db) => work(db, state, events))
  }
  // Most units of work hand nothing to the sink: no need to wait a turn for it.
  if (events.length > 0) await dispatchToSink(state.runtime, events)
  return result
}

export interface TransactionOptions {
  /** Re-runs the whole transaction on a retryable error (see `RetryOption`). Off by default. */
  retry?: RetryOption
}

/**
 * `scope.transaction(fn)`: one database transaction; audit events reach the sink after commit.
 * With `retry`, a retryable failure (lost connection before COMMIT, serialization failure,
 * deadlock, lock timeout) re-runs `fn` in a new transaction; `OUTCOME_UNKNOWN` never does.
 * `onAttemptFailed` runs after each failed attempt (the scope forgets cached permissions there).
 */
export async function scopeTransaction<T>(
  state: RequestState,
  fn: (inner: RequestState) => Promise<T>,
  options: TransactionOptions & { onAttemptFailed?: () => void } = {},
): Promise<T> {
  if (state.trx) return fn(state)
  const policy = resolveRetry(options.retry, 'transaction')
  // Read the table columns first: inside the transaction that read would need a second connection.
  await state.runtime.ready()
  return withRetry(policy, async (attempt) => {
    const events: AuditEvent[] = []
    const outcomes: OutcomeRecord[] = []
    let result: T
    try {
      result = await transactionOnNewConnection(state, (trx) => fn({ ...state, trx, pendingEvents: events, deferredOutcomes: outcomes }))
    } catch (error) {
      const mapped = mapDatabaseError(error)
      options.onAttemptFailed?.()
      // Each failed attempt leaves its records once; a retried attempt that recorded nothing says so itself.
      if (outcomes.length === 0 && policy.attempts > 1 && mapped instanceof TenantryError) {
        outcomes.push({
          action: 'transaction',
          resourceType: null,
          resourceId: null,
          outcome: 'failure',
          errorCode: mapped.code,
          metadata: { attempt },
        })
      }
      for (const outcome of outcomes) await recordOutcome(state, outcome)
      throw mapped
    }
    for (const outcome of outcomes) await recordOutcome(state, outcome)
    await dispatchToSink(state.runtime, events)
    return result
  })
}
