import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { CompiledQuery } from 'kysely'
import type { TokenService } from '../../src/tokens/index.js'
import { REQUEST, type OpContext, type OpDefinition } from './op-context.js'

/**
 * Refresh tokens. The hand-written versions keep tenantry's guarantees on the happy path: hashed
 * secrets behind an indexed selector, a constant-time comparison, the family row locked while the
 * successor is written, a session cap with least-recently-used eviction, an audit row per event.
 * (They leave out what only the unhappy paths need: reuse detection and the grace window.)
 */

const MAX_SESSIONS = 10

/** `tenantry.tokens`, when that part of the public API exists in this build. */
export function tokenService(ctx: OpContext): TokenService | undefined {
  const tokens = (ctx.tenantry as unknown as { tokens?: TokenService }).tokens
  return tokens && typeof tokens.issue === 'function' ? tokens : undefined
}

const sha256 = (secret: Buffer) => createHash('sha256').update(secret).digest()

function newMaterial() {
  const selector = randomBytes(16).toString('base64url')
  const secret = randomBytes(32)
  return { selector, secret, hash: sha256(secret), token: `rt_${selector}.${secret.toString('base64url')}` }
}

function parse(token: string): { selector: string; secret: Buffer } {
  const [selector, secret] = token.slice(3).split('.')
  return { selector: selector!, secret: Buffer.from(secret!, 'base64url') }
}

const ISSUE_SQL = `
  with u as (select id from tenantry.users where id = $1 and deleted_at is null for no key update),
  evicted as (
    update tenantry.sessions s set revoked_at = now(), revoked_reason = 'evicted'
     where s.id in (select l.id from tenantry.sessions l
                     where l.user_id = $1 and l.revoked_at is null and l.idle_expires_at > now() and l.expires_at > now()
                     order by l.last_used_at desc, l.created_at desc, l.id offset ${MAX_SESSIONS - 1} for update)
    returning s.*),
  session as (
    insert into tenantry.sessions (id, user_id, tenant_id, generation, current_token_id, ip, user_agent, expires_at, idle_expires_at)
    select $2, u.id, $3, 0, $4, $5, $6, now() + interval '30 days', now() + interval '7 days' from u
    returning *),
  token as (insert into tenantry.refresh_tokens (id, session_id, generation, selector, secret_hash)
            select $4, s.id, 0, $7, $8 from session s),
  audit as (insert into tenantry.audit_logs (tenant_id, actor_user_id, action, resource_type, resource_id, ip, user_agent, outcome, metadata)
            select tenant_id, user_id, 'tokens.issue', 'session', id::text, $5, $6, 'success', jsonb_build_object('generation', generation) from session
            union all
            select tenant_id, user_id, 'tokens.revoke', 'session', id::text, $5, $6, 'success', jsonb_build_object('reason', 'evicted') from evicted)
  select id, idle_expires_at from session`

const FIND_SQL = 'select id, session_id, secret_hash from tenantry.refresh_tokens where selector = $1'

const ROTATE_SQL = `
  with s as (select * from tenantry.sessions
              where id = $1 and current_token_id = $2 and revoked_at is null and expires_at > now() and idle_expires_at > now()
              for update),
  parent as (update tenantry.refresh_tokens t set used_at = now() from s where t.id = $2 returning t.generation),
  child as (insert into tenantry.refresh_tokens (id, session_id, parent_id, generation, selector, secret_hash)
            select $3, $1, $2, p.generation + 1, $4, $5 from parent p returning id, generation),
  moved as (update tenantry.sessions x
               set current_token_id = c.id, generation = c.generation, last_used_at = now(),
                   idle_expires_at = least(now() + interval '7 days', x.expires_at),
                   ip = coalesce($6, x.ip), user_agent = coalesce($7, x.user_agent)
              from child c where x.id = $1 returning x.*),
  audit as (insert into tenantry.audit_logs (tenant_id, actor_user_id, action, resource_type, resource_id, ip, user_agent, outcome, metadata)
            select tenant_id, user_id, 'tokens.rotate', 'session', id::text, $6, $7, 'success', jsonb_build_object('generation', generation) from moved)
  select id, idle_expires_at from moved`

/** Runs `text` through Kysely (`CompiledQuery.raw`: how a Kysely user sends a statement the builder has no words for). */
function viaKysely(ctx: OpContext, text: string, params: unknown[]) {
  return ctx.kysely.executeQuery(CompiledQuery.raw(text, params))
}

type Runner = (text: string, params: unknown[]) => Promise<{ rows: any[] }>

function handIssue(ctx: OpContext, run: Runner) {
  return async () => {
    const m = newMaterial()
    const sessionId = randomUUID()
    const { rows } = await run(ISSUE_SQL, [ctx.actors.issueUserId, sessionId, ctx.tenantId, randomUUID(), REQUEST.ip, REQUEST.userAgent, m.selector, m.hash])
    if (rows.length === 0) throw new Error('user not found')
    return { token: m.token, sessionId, expiresAt: rows[0].idle_expires_at }
  }
}

/** Rotates `userId`'s own session; the first call opens it (so a build that is never run writes nothing). */
function handRotate(ctx: OpContext, run: Runner, userId: string) {
  let current: string | undefined
  return async () => {
    current ??= (await handIssue({ ...ctx, actors: { ...ctx.actors, issueUserId: userId } }, run)()).token
    const presented = parse(current)
    const found = (await run(FIND_SQL, [presented.selector])).rows[0]
    if (!found || !timingSafeEqual(sha256(presented.secret), found.secret_hash)) throw new Error('token invalid')
    const m = newMaterial()
    const { rows } = await run(ROTATE_SQL, [found.session_id, found.id, randomUUID(), m.selector, m.hash, REQUEST.ip, REQUEST.userAgent])
    if (rows.length === 0) throw new Error('token reused, revoked or expired')
    current = m.token
    return { token: m.token, sessionId: found.session_id, expiresAt: rows[0].idle_expires_at }
  }
}

const NOT_YET = { unavailable: 'tenantry.tokens is not part of createTenantry yet' }

const issue: OpDefinition = {
  op: 'token issue',
  async build(ctx) {
    const tokens = tokenService(ctx)
    if (!tokens) return NOT_YET
    const kysely: Runner = (text, params) => viaKysely(ctx, text, params)
    const raw: Runner = (text, params) => ctx.pool.query(text, params)
    return {
      tenantry: () => tokens.issue({ userId: ctx.actors.issueUserId, tenantId: ctx.tenantId, ...REQUEST_INFO }),
      kysely: handIssue(ctx, kysely),
      raw: handIssue(ctx, raw),
    }
  },
}

const REQUEST_INFO = { ip: REQUEST.ip, userAgent: REQUEST.userAgent }

/** Rotates one session's current token again and again (each implementation has its own user and chain). */
const rotate: OpDefinition = {
  op: 'token rotate',
  async build(ctx) {
    const tokens = tokenService(ctx)
    if (!tokens) return NOT_YET
    const [u0, u1, u2] = ctx.actors.rotateUserIds
    const kysely: Runner = (text, params) => viaKysely(ctx, text, params)
    const raw: Runner = (text, params) => ctx.pool.query(text, params)
    let current = (await tokens.issue({ userId: u0!, tenantId: ctx.tenantId })).token
    return {
      tenantry: async () => {
        const next = await tokens.rotate(current, REQUEST_INFO)
        current = next.token
        return next
      },
      kysely: handRotate(ctx, kysely, u1!),
      raw: handRotate(ctx, raw, u2!),
    }
  },
}

export const tokenOps: OpDefinition[] = [issue, rotate]
