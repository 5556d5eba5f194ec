import { TenantryError } from '../errors/tenantry-error.js'

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/** A duration as milliseconds or a string such as `'45s'`, `'15m'`, `'12h'`, `'30d'`, `'2w'`. */
export type Duration = number | `${number}${keyof typeof UNIT_MS}`

/** Parses a `Duration` into milliseconds; anything else is a `VALIDATION` error. */
export function durationToMs(value: Duration | string, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(value.trim()) : null
  if (!match) throw new TenantryError('VALIDATION', `${what}: expected a duration such as '30d', '12h', '15m' or milliseconds`)
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}
