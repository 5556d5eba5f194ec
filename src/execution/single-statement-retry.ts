import { withRetry } from '../runtime/retry-policy.js'
import type { RequestState } from '../runtime/runtime.js'

/**
 * Runs one single-statement operation with the instance's `retry` policy (`createTenantry({ retry })`).
 * Inside `scope.transaction` it runs once: a failed statement aborts the whole transaction, which
 * only `scope.transaction(fn, { retry })` may re-run.
 *
 * @example
 * const rows = await retrySingle(state, () => inUnitOfWork(state, false, (db) => statement.execute(db), { readOnly: true }))
 */
export function retrySingle<T>(state: RequestState, attempt: () => Promise<T>): Promise<T> {
  // One attempt (the default policy) needs no retry loop around it.
  if (state.trx || state.runtime.retry.attempts === 1) return attempt()
  return withRetry(state.runtime.retry, attempt)
}
