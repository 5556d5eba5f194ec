import { sql, type RawBuilder } from 'kysely'

/**
 * Calls to the `tokens_*` functions (migration 0003, confined by 0005). Each is one statement, so
 * one implicit transaction and one round trip; the functions switch `tenantry.system` on for their
 * own duration and take the family lock themselves. They are called without a tenant context: in
 * one, the database confines them to that tenant (see docs/refresh-tokens.md).
 */

/** A token whose secret matched: the database compared the hashes, and returns no hash. */
export interface FoundToken {
  token_id: string
  session_id: string
}

export interface IssueRow {
  outcome: 'issued' | 'user_not_found' | 'user_inactive'
  expires_at: Date | null
  audit: Record<string, unknown>[]
}

export type RotateOutcome = 'rotated' | 'grace' | 'reused' | 'revoked' | 'expired' | 'invalid'

export interface RotateRow {
  outcome: RotateOutcome
  session_id: string | null
  token_id: string | null
  token_selector: string | null
  token_kid: string | null
  token_hash: Buffer | null
  expires_at: Date | null
  audit: Record<string, unknown>[]
  user_id: string | null
  tenant_id: string | null
}

export interface RevokeRow {
  outcome: 'revoked' | 'already_revoked' | 'not_found'
  audit: Record<string, unknown>[]
}

export interface RevokeAllRow {
  revoked: number
  audit: Record<string, unknown>[]
}

export interface SessionRow {
  id: string
  user_id: string
  tenant_id: string | null
  client_id: string | null
  generation: number
  ip: string | null
  user_agent: string | null
  created_at: Date
  last_used_at: Date
  expires_at: Date
  idle_expires_at: Date
}

export function fn(schema: string, name: string): RawBuilder<unknown> {
  return sql`${sql.id(schema, name)}`
}

export function findTokenStatement(schema: string, selector: string, secretHash: Buffer): RawBuilder<FoundToken> {
  return sql<FoundToken>`select * from ${fn(schema, 'tokens_find')}(${selector}::text, ${secretHash}::bytea)`
}

export interface IssueParams {
  userId: string
  tenantId: string | null
  clientId: string | null
  ip: string | null
  userAgent: string | null
  sessionId: string
  tokenId: string
  selector: string
  secretHash: Buffer
  refreshTtlMs: number
  idleTtlMs: number
  maxSessions: number
  lockTimeoutMs: number
}

export function issueStatement(schema: string, p: IssueParams): RawBuilder<IssueRow> {
  return sql<IssueRow>`select * from ${fn(schema, 'tokens_issue')}(
    ${p.userId}::uuid, ${p.tenantId}::uuid, ${p.clientId}::text, ${p.ip}::inet, ${p.userAgent}::text,
    ${p.sessionId}::uuid, ${p.tokenId}::uuid, ${p.selector}::text, ${p.secretHash}::bytea,
    ${p.refreshTtlMs}::bigint, ${p.idleTtlMs}::bigint, ${p.maxSessions}::integer, ${p.lockTimeoutMs}::integer)`
}

export interface RotateParams {
  /** The presented token: its selector and the SHA-256 of its secret (proof of possession). */
  selector: string
  secretHash: Buffer
  childId: string
  childSelector: string
  childHash: Buffer
  childKid: string | null
  idleTtlMs: number
  graceMs: number
  graceKids: string[]
  ip: string | null
  userAgent: string | null
  lockTimeoutMs: number
}

export function rotateStatement(schema: string, p: RotateParams): RawBuilder<RotateRow> {
  return sql<RotateRow>`select * from ${fn(schema, 'tokens_rotate')}(
    ${p.selector}::text, ${p.secretHash}::bytea,
    ${p.childId}::uuid, ${p.childSelector}::text, ${p.childHash}::bytea, ${p.childKid}::text,
    ${p.idleTtlMs}::bigint, ${p.graceMs}::bigint, ${p.graceKids}::text[],
    ${p.ip}::inet, ${p.userAgent}::text, ${p.lockTimeoutMs}::integer)`
}

export function revokeSessionStatement(
  schema: string,
  p: { sessionId: string; reason: 'logout' | 'revoked'; ip: string | null; userAgent: string | null; lockTimeoutMs: number },
): RawBuilder<RevokeRow> {
  return sql<RevokeRow>`select * from ${fn(schema, 'tokens_revoke_session')}(
    ${p.sessionId}::uuid, ${p.reason}::text, ${p.ip}::inet, ${p.userAgent}::text, ${p.lockTimeoutMs}::integer)`
}

export function revokeAllStatement(schema: string, p: { userId: string; except: string[]; lockTimeoutMs: number }): RawBuilder<RevokeAllRow> {
  return sql<RevokeAllRow>`select * from ${fn(schema, 'tokens_revoke_all')}(
    ${p.userId}::uuid, ${p.except}::uuid[], ${p.lockTimeoutMs}::integer)`
}

export function listSessionsStatement(schema: string, userId: string): RawBuilder<SessionRow> {
  return sql<SessionRow>`select id, user_id, tenant_id, client_id, generation, host(ip) as ip, user_agent,
    created_at, last_used_at, expires_at, idle_expires_at
    from ${fn(schema, 'tokens_list_sessions')}(${userId}::uuid)`
}

export function pruneStatement(schema: string, batchSize: number): RawBuilder<{ deleted: number }> {
  return sql<{ deleted: number }>`select ${fn(schema, 'tokens_prune')}(${batchSize}::integer) as deleted`
}
