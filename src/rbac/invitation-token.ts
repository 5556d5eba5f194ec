import { formatToken, parseToken, randomSecret, secretMatches, tokenMaterial, type ParsedToken } from '../tokens/token-format.js'

/**
 * Invitation tokens reuse the refresh-token format and hashing (128-bit selector, 256-bit secret,
 * only SHA-256 of the secret stored, constant-time comparison) under their own prefix, so a
 * refresh token is never mistaken for an invitation or the other way round.
 */
export const INVITATION_TOKEN_PREFIX = 'inv'

/** A new invitation token and what gets stored: the selector and the secret's hash. */
export function newInvitationToken(): { token: string; selector: string; secretHash: Buffer } {
  const material = tokenMaterial(randomSecret())
  return { token: formatToken(material.selector, material.secret, INVITATION_TOKEN_PREFIX), selector: material.selector, secretHash: material.secretHash }
}

/** `inv_<selector>.<secret>` split into its parts, or `null` for anything else. */
export function parseInvitationToken(token: unknown): ParsedToken | null {
  return parseToken(token, INVITATION_TOKEN_PREFIX)
}

/** Constant-time check of a presented secret against the stored hash. */
export function invitationSecretMatches(secret: Buffer, storedHash: Buffer): boolean {
  return secretMatches(secret, storedHash)
}
