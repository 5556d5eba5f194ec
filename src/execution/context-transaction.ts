import { CompiledQuery, type Kysely } from 'kysely'
import { mayHaveCommitted, outcomeUnknownError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { isLowerCaseUuid } from '../util/identifiers.js'
import { pipelinedTransaction } from './pipelined-connection.js'

/** A validated UUID as an SQL literal; anything else never reaches the SQL text. */
function uuidLiteral(value: string | null | undefined): string {
  if (value === null || value === undefined) return "''"
  if (!isLowerCaseUuid(value)) throw new TenantryError('CONTEXT_MISSING', 'row-level security context: the tenant or actor id is not a UUID')
  return `'${value}'`
}

/**
 * `begin` and the scope's context in one simple-protocol message (one round trip instead of two).
 * Safe as text because both ids were validated as lower-case UUIDs by `parseContext`, and are
 * checked again here. `tenantry.system` is cleared explicitly for tenant scopes, so even a
 * session-level value left on the connection cannot widen a tenant scope.
 */
export function beginWithContextQuery(state: RequestState): CompiledQuery {
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
 * One transaction for `state` on one connection of the root instance. Query mode: a plain BEGIN;
 * RLS mode: BEGIN and the context in one round trip, so a transaction costs what it costs in query
 * mode (BEGIN, statements, COMMIT). tenantry sends COMMIT itself, so it knows when a lost
 * connection leaves the outcome unknown. The `Kysely` handed to `fn` is bound to the connection.
 */
export async function transactionOnNewConnection<T>(
  state: RequestState,
  fn: (trx: Kysely<any>) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const root = state.runtime.root
  const begin = state.runtime.isolation === 'rls' ? beginWithContextQuery(state) : CompiledQuery.raw('begin')
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
    if (!readOnly && sent && mayHaveCommitted(error)) throw outcomeUnknownError(error)
    // Mapped by the caller, which names the operation.
    throw error
  }
}
