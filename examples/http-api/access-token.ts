/**
 * Short-lived bearer tokens for the example API: `at_<claims>.<hmac>`, signed with HMAC-SHA256.
 * A real application would use its identity provider's JWTs; the shape of the flow is the same:
 * a short access token names the user, the tenant and the session, and the long-lived refresh
 * token (tenantry's, rotated on every use) gets a new one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

/** Who a request acts for. */
export interface AccessClaims {
  userId: string
  tenantId: string
  sessionId: string
  /** Expiry, seconds since the epoch. */
  exp: number
}

const claimsSchema = z.strictObject({ userId: z.uuid(), tenantId: z.uuid(), sessionId: z.uuid(), exp: z.number().int() })

export interface AccessTokens {
  sign(claims: Omit<AccessClaims, 'exp'>): string
  /** The claims of a well-signed, unexpired token; `null` for anything else. */
  verify(token: string | undefined): AccessClaims | null
}

/**
 * @example
 * const accessTokens = createAccessTokens(randomBytes(32), { ttlSeconds: 900 })
 * const bearer = accessTokens.sign({ userId, tenantId, sessionId })
 */
export function createAccessTokens(key: Uint8Array, options: { ttlSeconds?: number } = {}): AccessTokens {
  const ttl = options.ttlSeconds ?? 900
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest()
  return {
    sign(claims) {
      const payload = Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + ttl })).toString('base64url')
      return `at_${payload}.${mac(payload).toString('base64url')}`
    },
    verify(token) {
      const match = /^at_([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token ?? '')
      if (!match) return null
      const [, payload = '', signature = ''] = match
      const given = Buffer.from(signature, 'base64url')
      const expected = mac(payload)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
      let decoded: unknown
      try {
        decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      } catch {
        return null
      }
      const claims = claimsSchema.safeParse(decoded)
      return claims.success && claims.data.exp > Date.now() / 1000 ? claims.data : null
    },
  }
}
