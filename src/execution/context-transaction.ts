import { CompiledQuery, type Kysely } from 'kysely'
import { mayHaveCommitted, outcomeUnknownError } from '../errors/map-database-error.js'
import type { RequestState, TenantryRuntime } from '../runtime/runtime.js'
import { contextSettings } from './context-settings.js'
import { pipelinedTransaction } from './pipelined-connection.js'
import { beginWithPropagatedContext } from './propagated-context.js'

/**
 * Free text (the request id) as an SQL expression that can only be that text: its UTF-8 bytes in
 * hex, decoded by the server. Hex digits never end a literal, whatever the text holds and whatever
 * `standard_conforming_strings` says. `parseContext` already refused NUL bytes.
 */
function textExpression(value: string): string {
  return `convert_from(decode('${Buffer.from(value, 'utf8').toString('hex')}', 'hex'), 'UTF8')`
}

/**
 * `begin` and the scope's context in one simple-protocol message (one round trip instead of two).
 * Safe as text because both ids were validated as UUIDs (`parseContext`, `asSystem`), and are
 * checked again here. `tenantry.system` is cleared explicitly for tenant scopes, so even a
 * session-level value left on the connection cannot widen a tenant scope. `tenantry.actor_id` (a
 * system scope's actor too) and `tenantry.request_id` are for host triggers; no policy reads them.
 */
export function beginWithContextQuery(state: RequestState): CompiledQuery {
  // On Citus the settings must reach the workers, where the statements (and host triggers) run.
  if (state.runtime.distributedAudit) return beginWithPropagatedContext(state)
  const settings = contextSettings(state, textExpression)
  const calls = Object.entries(settings).map(([name, value]) => `set_config('tenantry.${name}', ${value}, true)`)
  return CompiledQuery.raw(`begin; select ${calls.join(', ')}`)
}

/**
 * How a failed COMMIT is reported: unknown when the connection broke in flight, else as it is
 * (certainly rolled back; the caller maps it and names its operation).
 */
function commitFailed(error: unknown, readOnly: boolean): unknown {
  if (!readOnly && mayHaveCommitted(error)) return outcomeUnknownError(error)
  return error
}

/**
 * Runs `fn` inside BEGIN (with the context) ... COMMIT, rolling back when it throws. `execute`
 * sends one statement on the connection the transaction lives on. A connection lost while COMMIT
 * is in flight is `OUTCOME_UNKNOWN` (unless the transaction only read); anything before COMMIT
 * certainly rolled back.
 */
export async function transactionOnConnection<T>(
  execute: (query: CompiledQuery) => Promise<unknown>,
  state: RequestState,
  fn: () => Promise<T>,
  options: { readOnly?: boolean; begin?: CompiledQuery } = {},
): Promise<T> {
  await execute(options.begin ?? beginWithContextQuery(state))
  let result: T
  try {
    result = await fn()
  } catch (error) {
    await execute(CompiledQuery.raw('rollback')).catch(() => {})
    throw error
  }
  try {
    await execute(CompiledQuery.raw('commit'))
  } catch (error) {
    throw commitFailed(error, options.readOnly === true)
  }
  return result
}

/**
 * The one rule for where the scope's context settings (`tenantry.tenant_id`, `tenantry.actor_id`,
 * `tenantry.system`, `tenantry.request_id`) are set: in every transaction under RLS (the policies read them), and in
 * query mode when the instance has `triggerContext: true` (host triggers read them).
 */
export function transactionsCarryContext(runtime: TenantryRuntime): boolean {
  return runtime.isolation === 'rls' || runtime.triggerContext
}

/**
 * Whether a unit of work outside `scope.transaction` must be a transaction even for one statement:
 * always under RLS (the context is transaction-local); in query mode with `triggerContext`, every
 * write (its triggers see the context), never a read (no trigger runs, one round trip stays one).
 */
export function needsContextTransaction(runtime: TenantryRuntime, readOnly: boolean): boolean {
  return runtime.isolation === 'rls' || (runtime.triggerContext && !readOnly)
}

/**
 * One transaction for `state` on one connection of the root instance. Without context settings
 * (query mode): a plain BEGIN; with them (see `transactionsCarryContext`): BEGIN and the context in
 * one round trip, so a transaction costs the same either way (BEGIN, statements, COMMIT). tenantry
 * sends COMMIT itself, so it knows when a lost connection leaves the outcome unknown. The `Kysely`
 * handed to `fn` is bound to the connection.
 */
export async function transactionOnNewConnection<T>(
  state: RequestState,
  fn: (trx: Kysely<any>) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const root = state.runtime.root
  const begin = transactionsCarryContext(state.runtime) ? beginWithContextQuery(state) : CompiledQuery.raw('begin')
  const pipelined = state.runtime.pipelinedPool
  if (pipelined) return pipelinedTransaction(pipelined, state, begin, fn, (error) => commitFailed(error, options.readOnly === true))
  return root.connection().execute((db) =>
    transactionOnConnection(
      (query) => db.executeQuery(query),
      state,
      () => fn(db),
      { ...options, begin },
    ),
  )
}

/**
 * Runs `work` as autocommit statements on one connection. A connection that breaks while a write
 * is in flight leaves its outcome unknown (`OUTCOME_UNKNOWN`); any other error is rethrown as it
 * is, for the caller to map (a connection that could not be opened, or broke during a read, maps
 * to `RETRYABLE`).
 */
export async function inAutocommit<T>(root: Kysely<any>, readOnly: boolean, work: (db: Kysely<any>) => Promise<T>): Promise<T> {
  // A read changes nothing, whenever its connection breaks: no need to know whether it was sent,
  // nor to pay for a connection-bound Kysely instance per call.
  if (readOnly) return work(root)
  let sent = false
  try {
    return await root.connection().execute((db) => {
      sent = true
      return work(db)
    })
  } catch (error) {
    if (sent && mayHaveCommitted(error)) throw outcomeUnknownError(error)
    // Mapped by the caller, which names the operation.
    throw error
  }
}
