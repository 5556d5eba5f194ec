import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** 128-bit selector: the indexed, public half of a token. */
const SELECTOR_BYTES = 16
/** 256-bit secret: only its SHA-256 is stored. */
const SECRET_BYTES = 32
/** `<selector>.<secret>` after the prefix. */
const TOKEN_BODY = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/
/** Prefix of refresh tokens; other single-use tokens (invitations: `inv`) pass their own. */
export const REFRESH_TOKEN_PREFIX = 'rt'
/** Longer input is refused before any parsing work. */
const MAX_TOKEN_LENGTH = 128

/** A refresh token split into its parts. */
export interface ParsedToken {
  selector: string
  secret: Buffer
}

/** A new selector and secret, with the hash that gets stored. */
export interface TokenMaterial extends ParsedToken {
  secretHash: Buffer
}

/** `rt_<selector>.<secret>` (or `<prefix>_...`), both base64url without padding. */
export function formatToken(selector: string, secret: Buffer, prefix: string = REFRESH_TOKEN_PREFIX): string {
  return `${prefix}_${selector}.${secret.toString('base64url')}`
}

/**
 * Splits a token string. Anything that is not exactly `rt_<22 chars>.<43 chars>` of canonical
 * base64url returns `null`; the caller reports it as `TOKEN_INVALID` without touching the database.
 *
 * @example
 * parseToken('rt_AAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43)) // { selector, secret }
 * parseToken('Bearer xyz') // null
 */
export function parseToken(token: unknown, prefix: string = REFRESH_TOKEN_PREFIX): ParsedToken | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !token.startsWith(`${prefix}_`)) return null
  const match = TOKEN_BODY.exec(token.slice(prefix.length + 1))
  if (!match) return null
  const selector = match[1]!
  const secret = Buffer.from(match[2]!, 'base64url')
  // Non-canonical encodings (stray low bits in the last character) would give two spellings of one token.
  if (secret.length !== SECRET_BYTES || secret.toString('base64url') !== match[2]) return null
  if (Buffer.from(selector, 'base64url').toString('base64url') !== selector) return null
  return { selector, secret }
}

/** SHA-256 of a secret: what `refresh_tokens.secret_hash` holds. */
export function hashSecret(secret: Buffer): Buffer {
  return createHash('sha256').update(secret).digest()
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: Buffer, storedHash: Buffer): boolean {
  const presented = hashSecret(secret)
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash)
}

/** A random selector. */
export function newSelector(): string {
  return randomBytes(SELECTOR_BYTES).toString('base64url')
}

/** A random secret, for tokens that no grace retry needs to re-derive (issue, or no key configured). */
export function randomSecret(): Buffer {
  return randomBytes(SECRET_BYTES)
}

/**
 * The secret of a successor: HMAC-SHA-256(key, parent secret ‖ successor id). A retry of the parent
 * within the grace window re-derives the very same secret, so the database never has to keep it.
 */
export function deriveSuccessorSecret(key: Buffer, parentSecret: Buffer, successorId: string): Buffer {
  const id = Buffer.from(successorId.replaceAll('-', ''), 'hex')
  return createHmac('sha256', key).update(parentSecret).update(id).digest()
}

/** Selector, secret and hash for a new token. */
export function tokenMaterial(secret: Buffer): TokenMaterial {
  return { selector: newSelector(), secret, secretHash: hashSecret(secret) }
}
