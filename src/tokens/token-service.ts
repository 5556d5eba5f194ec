import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { tenantlessAuditError } from '../execution/tenantless-audit.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { NO_RETRY, type RetryPolicy } from '../runtime/retry-policy.js'
import { rotateRefreshToken, verifyToken, type IssuedToken, type TokenDeps } from './refresh-token-rotation.js'
import { notifyCommitted, type TokenAuditCallback } from './token-audit.js'
import { resolveTokenConfig, type TokenConfig } from './token-config.js'
import { formatToken, randomSecret, tokenMaterial } from './token-format.js'
import {
  parseIssueInput,
  parseNoOptions,
  parsePruneOptions,
  parseRequestInfo,
  parseRevokeAll,
  parseUuid,
  type IssueInput,
  type RequestInfo,
} from './token-inputs.js'
import { runTokenCall } from './token-call.js'
import { issueStatement, listSessionsStatement, pruneStatement, revokeAllStatement, revokeSessionStatement, type SessionRow } from './token-statements.js'

/** A live session (token family) as `listSessions` shows it. No token or hash is ever included. */
export interface SessionInfo {
  id: string
  userId: string
  tenantId: string | null
  clientId: string | null
  /** How many times the family has been rotated. */
  generation: number
  /** Where it was last used from. */
  ip: string | null
  userAgent: string | null
  createdAt: Date
  lastUsedAt: Date
  /** Absolute expiry; never extended. */
  expiresAt: Date
  /** Expiry if unused; every rotation extends it, up to `expiresAt`. */
  idleExpiresAt: Date
}

/** `tenantry.tokens`: refresh-token rotation with sessions as token families. */
export interface TokenService {
  /** Opens a session and returns its first token. Revokes the user's least recently used session over the cap. */
  issue(input: IssueInput): Promise<IssuedToken>
  /** Exchanges a token for its successor. `TOKEN_REUSED` when a used token comes back outside the grace window. */
  rotate(token: string, request?: RequestInfo): Promise<IssuedToken>
  /** Logout: revokes the session of a token. Idempotent for an already revoked session. */
  revoke(token: string, request?: RequestInfo): Promise<void>
  /** Revokes one session by id; `false` when it was already revoked or does not exist. */
  revokeSession(sessionId: string, options?: Record<string, never>): Promise<boolean>
  /** Revokes every live session of a user except the ones named; returns how many it revoked. */
  revokeAllForUser(userId: string, options?: { except?: string | readonly string[] }): Promise<number>
  /** The user's live sessions, most recently used first. */
  listSessions(userId: string, options?: Record<string, never>): Promise<SessionInfo[]>
  /** Deletes dead (revoked or expired) families in batches; returns how many it deleted. */
  prune(options?: { batchSize?: number }): Promise<number>
}

export interface TokenServiceDeps {
  /** The root Kysely instance, not a transaction: a reuse revocation must commit on its own. */
  db: Kysely<any>
  /** Postgres schema of the bundled tables. */
  schema: string
  config?: TokenConfig
  /** Receives the audit events of each operation after commit; errors from it are swallowed. */
  onCommitted?: TokenAuditCallback
  /** Retries of each call on retryable errors (`createTenantry({ retry })`); one attempt by default. */
  retry?: RetryPolicy
  /** Whether `audit_logs` cannot hold an event without a tenant (Citus; see `execution/tenantless-audit.ts`). */
  refusesTenantlessAudit?: () => Promise<boolean>
}

/**
 * Creates the refresh-token service over the bundled `sessions` and `refresh_tokens` tables
 * (migration 0003). The configuration is checked here: a bad one is a `CONFIGURATION` error.
 *
 * @example
 * const tokens = createTokenService({ db, schema: 'tenantry', config: { keys: { k1: process.env.TOKEN_HMAC_KEY } } })
 * const { token, sessionId } = await tokens.issue({ userId, ip: req.ip, userAgent: req.get('user-agent') })
 * const next = await tokens.rotate(token, { ip: req.ip })
 */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  if (deps.db.isTransaction) {
    throw new TenantryError('CONFIGURATION', 'tokens: pass the root Kysely instance, not a transaction')
  }
  const tokenDeps: TokenDeps = {
    db: deps.db,
    schema: deps.schema,
    config: resolveTokenConfig(deps.config),
    onCommitted: deps.onCommitted,
    retry: deps.retry ?? NO_RETRY,
  }
  const { db, schema, config, retry } = tokenDeps
  const notify = (rows: Record<string, unknown>[]) => notifyCommitted(deps.onCommitted, rows)

  return {
    async issue(input) {
      const operation = 'tokens.issue'
      const parsed = parseIssueInput(input)
      if (parsed.tenantId === null && (await deps.refusesTenantlessAudit?.())) throw tenantlessAuditError(operation)
      const sessionId = randomUUID()
      const secret = randomSecret()
      const material = tokenMaterial(secret)
      const [row] = await runTokenCall(
        db,
        operation,
        issueStatement(schema, {
          ...parsed,
          sessionId,
          tokenId: randomUUID(),
          selector: material.selector,
          secretHash: material.secretHash,
          refreshTtlMs: config.refreshTtlMs,
          idleTtlMs: config.idleTtlMs,
          maxSessions: config.maxSessionsPerUser,
          lockTimeoutMs: config.lockTimeoutMs,
        }),
        { retry },
      )
      if (row?.outcome === 'user_inactive') {
        throw new TenantryError('FORBIDDEN', `${operation}: the user is not active`, { operation, table: 'users' })
      }
      if (row?.outcome !== 'issued' || !row.expires_at) {
        throw new TenantryError('NOT_FOUND', `${operation}: user not found`, { operation, table: 'users' })
      }
      await notify(row.audit)
      return { token: formatToken(material.selector, secret), sessionId, expiresAt: row.expires_at, userId: parsed.userId, tenantId: parsed.tenantId }
    },

    rotate(token, request) {
      return rotateRefreshToken(tokenDeps, token, parseRequestInfo(request, 'tokens.rotate'))
    },

    async revoke(token, request) {
      const operation = 'tokens.revoke'
      const info = parseRequestInfo(request, operation)
      const { found } = await verifyToken(tokenDeps, token, operation)
      const [row] = await runTokenCall(
        db,
        operation,
        revokeSessionStatement(schema, { sessionId: found.session_id, reason: 'logout', ...info, lockTimeoutMs: config.lockTimeoutMs }),
        { retry },
      )
      // not_found: the family was pruned between the two calls; it is dead either way.
      await notify(row?.audit ?? [])
    },

    async revokeSession(sessionId, options) {
      const operation = 'tokens.revokeSession'
      parseNoOptions(options, operation)
      const id = parseUuid(sessionId, 'sessionId', operation)
      const [row] = await runTokenCall(
        db,
        operation,
        revokeSessionStatement(schema, { sessionId: id, reason: 'revoked', ip: null, userAgent: null, lockTimeoutMs: config.lockTimeoutMs }),
        { retry },
      )
      await notify(row?.audit ?? [])
      return row?.outcome === 'revoked'
    },

    async revokeAllForUser(userId, options) {
      const operation = 'tokens.revokeAllForUser'
      const parsed = parseRevokeAll(userId, options)
      const [row] = await runTokenCall(db, operation, revokeAllStatement(schema, { ...parsed, lockTimeoutMs: config.lockTimeoutMs }), { retry })
      await notify(row?.audit ?? [])
      return row?.revoked ?? 0
    },

    async listSessions(userId, options) {
      const operation = 'tokens.listSessions'
      parseNoOptions(options, operation)
      const id = parseUuid(userId, 'userId', operation)
      const rows = await runTokenCall(db, operation, listSessionsStatement(schema, id), { readOnly: true, retry })
      return rows.map(toSessionInfo)
    },

    async prune(options) {
      const { batchSize } = parsePruneOptions(options)
      let total = 0
      // One short transaction per batch: locks are held for one batch only.
      for (;;) {
        const [row] = await runTokenCall(db, 'tokens.prune', pruneStatement(schema, batchSize), { retry })
        const deleted = row?.deleted ?? 0
        total += deleted
        if (deleted < batchSize) return total
      }
    },
  }
}

function toSessionInfo(row: SessionRow): SessionInfo {
  return {
    id: row.id,
    userId: row.user_id,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    generation: row.generation,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    idleExpiresAt: row.idle_expires_at,
  }
}
