import type { TenantContext } from '../validation/context.js'
import type { RequestState } from '../runtime/runtime.js'

/**
 * The actor's granted permissions, fetched at most once per scope. Keyed by the scope's context
 * object: `withContext` makes a fresh frozen context per call, and the states of the scope's
 * transactions (and of hooks) are spreads that keep the same reference, so one request shares one
 * entry and two requests never do. A `WeakMap` lets the entry go with the scope.
 */
const cache = new WeakMap<TenantContext, Promise<readonly string[]>>()

/** The cached grants of this scope, or the result of `load` (stored; a failed load is not kept). */
export function cachedPermissions(state: RequestState, load: () => Promise<readonly string[]>): Promise<readonly string[]> {
  const context = state.context
  if (!context) return load()
  const hit = cache.get(context)
  if (hit) return hit
  // The promise is cached, not its value, so concurrent checks in one scope share one query.
  const pending = load()
  cache.set(context, pending)
  pending.catch(() => {
    if (cache.get(context) === pending) cache.delete(context)
  })
  return pending
}

/**
 * Forgets this scope's grants. Called after every role, assignment and membership change made
 * through the scope, and when a `scope.transaction` fails (grants read inside it may reflect
 * changes that were rolled back).
 */
export function invalidatePermissions(state: RequestState): void {
  if (state.context) cache.delete(state.context)
}
