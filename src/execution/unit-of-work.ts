import { CompiledQuery, type Kysely } from 'kysely'
import type { AuditEvent } from '../audit/audit-event.js'
import { dispatchToSink } from '../audit/audit-sink.js'
import { recordOutcome, type OutcomeRecord } from '../audit/audit-statement.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { ScopeState } from './runtime.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A validated UUID as an SQL literal; anything else never reaches the SQL text. */
function uuidLiteral(value: string | null | undefined): string {
  if (value === null || value === undefined) return "''"
  if (!UUID.test(value)) throw new TenantryError('CONTEXT_MISSING', 'row-level security context: the tenant or actor id is not a UUID')
  return `'${value}'`
}

/**
 * `begin` and the scope's context in one simple-protocol message (one round trip instead of two).
 * Safe as text because both ids were validated as lower-case UUIDs by `parseContext`, and are
 * checked again here. `tenantry.system` is cleared explicitly for tenant scopes, so even a
 * session-level value left on the connection cannot widen a tenant scope.
 */
export function beginWithContextQuery(state: ScopeState): CompiledQuery {
  if (state.system) {
    return CompiledQuery.raw("begin; select set_config('tenantry.system', 'on', true), set_config('tenantry.tenant_id', '', true)")
  }
  const tenant = uuidLiteral(state.context?.tenantId)
  const actor = uuidLiteral(state.context?.actorId)
  return CompiledQuery.raw(
    `begin; select set_config('tenantry.tenant_id', ${tenant}, true), set_config('tenantry.actor_id', ${actor}, true), set_config('tenantry.system', '', true)`,
  )
}

/**
 * Runs `fn` inside BEGIN (with the context) ... COMMIT, rolling back when it throws. `execute`
 * sends one statement on the connection the transaction lives on.
 */
export async function withinContextTransaction<T>(
  execute: (query: CompiledQuery) => Promise<unknown>,
  state: ScopeState,
  fn: () => Promise<T>,
): Promise<T> {
  await execute(beginWithContextQuery(state))
  let result: T
  try {
    result = await fn()
  } catch (error) {
    await execute(CompiledQuery.raw('rollback')).catch(() => {})
    throw error
  }
  await execute(CompiledQuery.raw('commit'))
  return result
}

/**
 * One transaction for `state`. Query mode: Kysely's own. RLS mode: BEGIN and the context in one
 * round trip, so a transaction costs what it costs in query mode (BEGIN, statements, COMMIT).
 * The `Kysely` handed to `fn` is bound to the transaction's connection.
 */
export async function inContextTransaction<T>(state: ScopeState, fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
  const root = state.runtime.root
  if (state.runtime.isolation !== 'rls') return root.transaction().execute(fn)
  return root.connection().execute((db) => withinContextTransaction((query) => db.executeQuery(query), state, () => fn(db)))
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
    result = await inContextTransaction(state, (trx) =>
      work(trx, { ...state, trx, pendingEvents: events, deferredOutcomes: null }, events),
    )
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
    result = await inContextTransaction(state, (trx) => fn({ ...state, trx, pendingEvents: events, deferredOutcomes: outcomes }))
  } catch (error) {
    throw mapDatabaseError(error)
  } finally {
    for (const outcome of outcomes) await recordOutcome(state, outcome)
  }
  await dispatchToSink(state.runtime, events)
  return result
}
