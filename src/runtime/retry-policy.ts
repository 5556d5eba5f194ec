import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { validationError } from '../errors/validation-error.js'

/**
 * How an operation is retried on a `retryable` error: `true` for the defaults, or bounded
 * attempts with jittered exponential backoff. Never applied to `OUTCOME_UNKNOWN`.
 */
export type RetryOption = boolean | RetryPolicyInput

export interface RetryPolicyInput {
  /** Total attempts, the first included (1–10). Defaults to 3. */
  attempts?: number
  /** Backoff before the second attempt, doubled for each further one (0–10 000 ms). Defaults to 50. */
  baseDelayMs?: number
  /** Cap of one backoff (0–60 000 ms). Defaults to 1000. */
  maxDelayMs?: number
}

export interface RetryPolicy {
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 1000 }

const retrySchema = z.union([
  z.boolean(),
  z.strictObject({
    attempts: z.int().min(1).max(10).optional(),
    baseDelayMs: z.int().min(0).max(10_000).optional(),
    maxDelayMs: z.int().min(0).max(60_000).optional(),
  }),
])

/** Checks a `retry` option (of `createTenantry` or `scope.transaction`); `undefined` gives `fallback`. */
export function resolveRetry(option: unknown, where: string, fallback: RetryPolicy = NO_RETRY): RetryPolicy {
  if (option === undefined) return fallback
  const parsed = retrySchema.safeParse(option)
  if (!parsed.success) throw validationError(`${where}: invalid retry option`, parsed.error)
  const value = parsed.data
  if (value === false) return NO_RETRY
  if (value === true) return DEFAULT_RETRY
  return { ...DEFAULT_RETRY, ...value }
}

/**
 * Backoff before attempt `attempt + 1`: half of the exponential step plus a random half, so a
 * crowd of callers that failed together does not come back together.
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(step / 2 + Math.random() * (step / 2))
}

/** True for an error a retry may fix: one that maps to a `TenantryError` with `retryable` (never `OUTCOME_UNKNOWN`). */
export function isRetryable(error: unknown): boolean {
  const mapped = mapDatabaseError(error)
  return mapped instanceof TenantryError && mapped.retryable
}

/**
 * Runs `attempt` up to `policy.attempts` times while it fails with a retryable error, waiting a
 * jittered backoff in between. `attempt` receives its number (1-based) and does its own failure
 * bookkeeping (audit rows), so each failed attempt is recorded once.
 *
 * @example
 * const rows = await withRetry(DEFAULT_RETRY, () => statement.execute(db))
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  canRetry: (error: unknown, n: number) => boolean = isRetryable,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (error) {
      if (n >= policy.attempts || !canRetry(error, n)) throw error
      await sleep(backoffMs(policy, n))
    }
  }
}
