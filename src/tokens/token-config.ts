import { z } from 'zod'
import { toValidationIssues } from '../errors/validation-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { durationToMs, type Duration } from '../util/duration.js'
import { checkOptionKeys } from '../validation/strict-options.js'

/**
 * `tenantry.tokens` settings. Every field has a default; without `keys` there is no grace window.
 *
 * @example
 * const config: TokenConfig = { refreshTtl: '30d', idleTtl: '7d', graceMs: 10_000, maxSessionsPerUser: 10,
 *   keys: { k1: process.env.TOKEN_HMAC_KEY } }
 */
export interface TokenConfig {
  /** Absolute lifetime of a session (token family); never extended. Default `'30d'`. */
  refreshTtl?: Duration
  /** Idle lifetime: a family unused this long expires; each rotation extends it. Default `'7d'` (at most `refreshTtl`). */
  idleTtl?: Duration
  /** How long a retry of the direct parent returns the same successor. Default 10 s, at most 5 min; needs `keys`. */
  graceMs?: number
  /** Live sessions per user; an issue over the cap revokes the least recently used. Default 10. */
  maxSessionsPerUser?: number
  /**
   * HMAC keys by id (`kid`), at least 32 bytes each. The successor of a token is derived with a key
   * so that a retry within the grace window can be answered with the same token. Add a new key next
   * to the old one and keep the old one for at least `graceMs`. `undefined` entries are ignored.
   */
  keys?: Record<string, string | Uint8Array | undefined>
  /** Key that derives new successors. Default: the last entry of `keys`. */
  signingKey?: string
  /** How long a token call waits for a family lock before failing with `RETRYABLE`. Default `'5s'`. */
  lockTimeout?: Duration
}

/** `TokenConfig` with defaults applied, durations in milliseconds and keys as bytes. */
export interface ResolvedTokenConfig {
  refreshTtlMs: number
  idleTtlMs: number
  /** 0 when no key is configured: no grace window. */
  graceMs: number
  maxSessionsPerUser: number
  lockTimeoutMs: number
  keys: ReadonlyMap<string, Buffer>
  signingKid: string | null
}

const MAX_GRACE_MS = 5 * 60_000
const MAX_TTL_MS = 10 * 365 * 86_400_000

const duration = z.union([z.number(), z.string()])
const keyBytes = z.union([
  z.string().min(32, 'a key needs at least 32 characters'),
  z.instanceof(Uint8Array).refine((k) => k.byteLength >= 32, 'a key needs at least 32 bytes'),
])

const configSchema = z.strictObject({
  refreshTtl: duration.optional(),
  idleTtl: duration.optional(),
  graceMs: z.number().int().min(0).max(MAX_GRACE_MS).optional(),
  maxSessionsPerUser: z.number().int().min(1).max(10_000).optional(),
  keys: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a key id is 1-64 of A-Z a-z 0-9 _ -'), keyBytes.optional()).optional(),
  signingKey: z.string().optional(),
  lockTimeout: duration.optional(),
})

function configError(message: string): TenantryError {
  return new TenantryError('CONFIGURATION', `tokens: ${message}`)
}

function positiveMs(value: Duration | string | number, what: string, max: number): number {
  let ms: number
  try {
    ms = durationToMs(value as Duration, `tokens.${what}`)
  } catch {
    throw configError(`${what}: expected a duration such as '30d', '12h', '15m', '45s' or milliseconds`)
  }
  if (!(ms >= 1 && ms <= max)) throw configError(`${what}: must be between 1 ms and ${max} ms`)
  return Math.round(ms)
}

/**
 * Validates `TokenConfig` and applies defaults. A bad config is a `CONFIGURATION` error carrying
 * zod's issues (paths and reasons, never the key material).
 *
 * @example
 * const resolved = resolveTokenConfig({ refreshTtl: '30d', keys: { k1: 'a key of at least thirty-two chars' } })
 * resolved.graceMs // 10_000
 */
export function resolveTokenConfig(config: TokenConfig = {}): ResolvedTokenConfig {
  checkOptionKeys(config, Object.keys(configSchema.shape), 'createTenantry: tokens')
  const parsed = configSchema.safeParse(config)
  if (!parsed.success) {
    const issues = toValidationIssues(parsed.error)
    const where = issues.map((i) => (i.path.length ? i.path.join('.') : '(root)')).join(', ')
    throw new TenantryError('CONFIGURATION', `tokens: invalid configuration (${where})`, { issues })
  }
  const refreshTtlMs = positiveMs(config.refreshTtl ?? '30d', 'refreshTtl', MAX_TTL_MS)
  const idleTtlMs = config.idleTtl === undefined ? Math.min(7 * 86_400_000, refreshTtlMs) : positiveMs(config.idleTtl, 'idleTtl', MAX_TTL_MS)
  if (idleTtlMs > refreshTtlMs) throw configError('idleTtl: must not be longer than refreshTtl')
  const lockTimeoutMs = positiveMs(config.lockTimeout ?? '5s', 'lockTimeout', 600_000)

  const keys = new Map<string, Buffer>()
  for (const [kid, key] of Object.entries(config.keys ?? {})) {
    if (key !== undefined) keys.set(kid, typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key))
  }
  const signingKid = config.signingKey ?? [...keys.keys()].at(-1) ?? null
  if (config.signingKey !== undefined && !keys.has(config.signingKey)) {
    throw configError('signingKey: must name an entry of keys')
  }
  return {
    refreshTtlMs,
    idleTtlMs,
    graceMs: signingKid === null ? 0 : (config.graceMs ?? 10_000),
    maxSessionsPerUser: config.maxSessionsPerUser ?? 10,
    lockTimeoutMs,
    keys,
    signingKid,
  }
}
