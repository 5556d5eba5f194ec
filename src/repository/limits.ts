import { TenantryError } from '../errors/tenantry-error.js'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

/** `limit` defaults to 100 and is capped at 1000; anything but a positive integer is refused. */
export function resolveLimit(limit: unknown, operation: string): number {
  if (limit === undefined || limit === null) return DEFAULT_LIMIT
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new TenantryError('VALIDATION', `${operation}: limit must be a positive integer`, { operation })
  }
  return Math.min(limit, MAX_LIMIT)
}
