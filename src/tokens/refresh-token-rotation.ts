import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { NO_RETRY, backoffMs, withRetry, type RetryPolicy } from '../runtime/retry-policy.js'
import { notifyCommitted, type TokenAuditCallback } from './token-audit.js'
import type { ResolvedTokenConfig } from './token-config.js'
import { tokenExpired, tokenInvalid, tokenReused, tokenRevoked } from './token-errors.js'
import { deriveSuccessorSecret, formatToken, hashSecret, newSelector, parseToken, randomSecret, secretMatches, type ParsedToken } from './token-format.js'
import { runTokenCall } from './token-call.js'
import { findTokenStatement, rotateStatement, type FoundToken } from './token-statements.js'

export interface TokenDeps {
  db: Kysely<any>
  schema: string
  config: ResolvedTokenConfig
  onCommitted?: TokenAuditCallback | undefined
  /** Retries of each call on retryable errors; see `rotateRefreshToken` for a rotation whose outcome is unknown. */
  retry: RetryPolicy
}

/** What `issue` and `rotate` hand back. */
export interface IssuedToken {
  /** `rt_<selector>.<secret>`: give it to the client, never log or store it. */
  token: string
  /** The session (token family) the token belongs to. */
  sessionId: string
  /** When this token stops working if it is not rotated: the idle expiry, capped by the absolute one. */
  expiresAt: Date
  /** The session's user, so a refresh endpoint can mint its access token without another query. */
  userId: string
  /** The tenant the session was opened for, or `null`. */
  tenantId: string | null
}

/**
 * Finds a token by its selector and the hash of its secret (`tokens_find` compares the hashes and
 * never returns one). A malformed token, an unknown selector and a wrong secret are all
 * `TOKEN_INVALID`, and none of them changes anything.
 */
export async function verifyToken(deps: TokenDeps, token: unknown, operation: string): Promise<{ parsed: ParsedToken; found: FoundToken }> {
  const parsed = parseToken(token)
  if (!parsed) throw tokenInvalid(operation)
  const [found] = await runTokenCall(deps.db, operation, findTokenStatement(deps.schema, parsed.selector, hashSecret(parsed.secret)), {
    readOnly: true,
    retry: deps.retry,
  })
  if (!found) throw tokenInvalid(operation)
  return { parsed, found }
}

/**
 * Rotates a refresh token in one round trip: `tokens_rotate` is handed the presented selector and
 * the hash of the presented secret, checks them (a wrong secret locks and changes nothing), locks
 * the family and decides under the lock. The successor is prepared before that call: with a
 * signing key its secret is HMAC(key, parent secret ‖ successor id), so a retry of the parent
 * inside the grace window can re-derive the successor the first call created instead of writing a
 * second branch.
 *
 * Reuse revokes the family in the same statement, which commits before `TOKEN_REUSED` is thrown.
 * With `deps.retry`, a retryable failure runs the whole rotation again, and so does one whose
 * outcome is unknown while the grace window makes that safe.
 *
 * @example
 * const next = await rotateRefreshToken(deps, token, { ip: null, userAgent: null })
 */
export async function rotateRefreshToken(deps: TokenDeps, token: unknown, request: { ip: string | null; userAgent: string | null }): Promise<IssuedToken> {
  const startedAt = Date.now()
  // A rotation whose connection broke in flight may have committed. With a grace window, running it
  // again is safe: the retry either rotates (the first never committed) or lands in the window and
  // gets the same successor back. It is only tried while well inside the window, by the local clock.
  const retryUnknown = (error: unknown, attempt: number): boolean =>
    error instanceof TenantryError &&
    (error.retryable ||
      (error.code === 'OUTCOME_UNKNOWN' && deps.config.graceMs > 0 && Date.now() - startedAt + backoffMs(deps.retry, attempt) * 2 < deps.config.graceMs / 2))
  // The lookup and the rotation of one attempt run once each: the attempts are counted here.
  const once: TokenDeps = { ...deps, retry: NO_RETRY }
  return withRetry(deps.retry, () => rotateOnce(once, token, request), retryUnknown)
}

async function rotateOnce(deps: TokenDeps, token: unknown, request: { ip: string | null; userAgent: string | null }): Promise<IssuedToken> {
  const operation = 'tokens.rotate'
  const parsed = parseToken(token)
  if (!parsed) throw tokenInvalid(operation)
  const { config } = deps

  const childId = randomUUID()
  const signingKey = config.signingKid === null ? undefined : config.keys.get(config.signingKid)
  const childSecret = signingKey ? deriveSuccessorSecret(signingKey, parsed.secret, childId) : randomSecret()
  const childSelector = newSelector()

  const [row] = await runTokenCall(
    deps.db,
    operation,
    rotateStatement(deps.schema, {
      selector: parsed.selector,
      secretHash: hashSecret(parsed.secret),
      childId,
      childSelector,
      childHash: hashSecret(childSecret),
      childKid: signingKey ? config.signingKid : null,
      idleTtlMs: config.idleTtlMs,
      graceMs: config.graceMs,
      graceKids: [...config.keys.keys()],
      ip: request.ip,
      userAgent: request.userAgent,
      lockTimeoutMs: config.lockTimeoutMs,
    }),
    { retry: deps.retry },
  )
  if (!row) throw tokenInvalid(operation)
  await notifyCommitted(deps.onCommitted, row.audit)

  switch (row.outcome) {
    case 'rotated':
      return {
        token: formatToken(childSelector, childSecret),
        sessionId: row.session_id!,
        expiresAt: row.expires_at!,
        userId: row.user_id!,
        tenantId: row.tenant_id,
      }
    case 'grace':
      return {
        token: rederiveSuccessor(deps, parsed, row),
        sessionId: row.session_id!,
        expiresAt: row.expires_at!,
        userId: row.user_id!,
        tenantId: row.tenant_id,
      }
    case 'reused':
      throw tokenReused(operation)
    case 'revoked':
      throw tokenRevoked(operation)
    case 'expired':
      throw tokenExpired(operation)
    default:
      throw tokenInvalid(operation)
  }
}

/** The successor a grace retry hands out again, checked against its stored hash. */
function rederiveSuccessor(
  deps: TokenDeps,
  parent: ParsedToken,
  row: { token_id: string | null; token_selector: string | null; token_kid: string | null; token_hash: Buffer | null },
): string {
  const key = row.token_kid === null ? undefined : deps.config.keys.get(row.token_kid)
  if (!key || !row.token_id || !row.token_selector || !row.token_hash) throw tokenInvalid('tokens.rotate')
  const secret = deriveSuccessorSecret(key, parent.secret, row.token_id)
  // Only a key replaced under the same id gets here: the retry cannot be answered, nothing was changed.
  if (!secretMatches(secret, row.token_hash)) {
    throw new TenantryError('CONFIGURATION', `tokens.rotate: key "${row.token_kid}" no longer derives the successor; keep old keys under their id`)
  }
  return formatToken(row.token_selector, secret)
}
