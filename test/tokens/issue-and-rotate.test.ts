import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { auditRows, failure, insertUser, makeTokens, selectorOf, sessionRow, tokenRows } from './token-fixtures.js'

const fileDb = await useFileDatabase()
const { db, pool, roundTrips } = fileDb

afterEach(() => {
  vi.useRealTimers()
})

describe('issue', () => {
  it('stores only the SHA-256 of the secret, never the token or the secret', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId, ip: '203.0.113.7', userAgent: 'vitest' })

    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
    const secretText = token.slice(token.indexOf('.') + 1)
    const secret = Buffer.from(secretText, 'base64url')
    const [row] = await tokenRows(db, sessionId)
    expect(row!.selector).toBe(selectorOf(token))
    expect(Buffer.compare(row!.secret_hash, createHash('sha256').update(secret).digest())).toBe(0)

    const { rows } = await sql<{ dump: string }>`
      select (select string_agg(to_jsonb(t)::text, '') from tenantry.refresh_tokens t) ||
             (select string_agg(to_jsonb(s)::text, '') from tenantry.sessions s) ||
             (select string_agg(to_jsonb(a)::text, '') from tenantry.audit_logs a) as dump`.execute(db)
    const dump = rows[0]!.dump
    expect(dump).not.toContain(secretText)
    expect(dump).not.toContain(secret.toString('hex'))
    expect(dump).not.toContain(token)
  })

  it('opens a family with absolute and idle expiry from the database clock and audits it', async () => {
    const { tokens, events } = makeTokens(pool, { refreshTtl: '30d', idleTtl: '7d', keys: { k1: 'x'.repeat(32) } })
    const userId = await insertUser(db)
    const { sessionId, expiresAt } = await tokens.issue({ userId, clientId: 'web' })

    const session = await sessionRow(db, sessionId)
    const days = (a: Date, b: Date) => Math.round((a.getTime() - b.getTime()) / 86_400_000)
    expect(days(session!.expires_at, session!.created_at)).toBe(30)
    expect(days(session!.idle_expires_at, session!.created_at)).toBe(7)
    expect(expiresAt.getTime()).toBe(session!.idle_expires_at.getTime())
    expect(session).toMatchObject({ user_id: userId, generation: 0, client_id: 'web', revoked_at: null })
    const audit = await auditRows(db, sessionId)
    expect(audit.map((a) => [a.action, a.outcome, a.resource_type, a.actor_user_id])).toEqual([['tokens.issue', 'success', 'session', userId]])
    expect(events.map((e) => e.action)).toEqual(['tokens.issue'])
  })

  it('refuses an unknown user with NOT_FOUND and writes nothing', async () => {
    const { tokens } = makeTokens(pool)
    const userId = '00000000-0000-4000-8000-000000000000'
    expect(await failure(tokens.issue({ userId }))).toMatchObject({ code: 'NOT_FOUND' })
    const count = await db
      .selectFrom('tenantry.sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirst()
    expect(Number(count!.n)).toBe(0)
  })

  it('refuses a malformed ip before any SQL is sent', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const trips = await roundTrips.measure(async () => {
      expect(await failure(tokens.issue({ userId, ip: 'not-an-ip' }))).toMatchObject({ code: 'VALIDATION' })
    })
    expect(trips).toBe(0)
    expect(await db.selectFrom('tenantry.sessions').selectAll().where('user_id', '=', userId).execute()).toEqual([])
  })
})

describe('rotate', () => {
  it('returns a successor, marks the parent used and moves the family forward', async () => {
    const { tokens, events } = makeTokens(pool)
    const userId = await insertUser(db)
    const first = await tokens.issue({ userId })
    const second = await tokens.rotate(first.token, { ip: '2001:db8::1', userAgent: 'phone' })

    expect(second.sessionId).toBe(first.sessionId)
    expect(second.token).not.toBe(first.token)
    const rows = await tokenRows(db, first.sessionId)
    expect(rows.map((r) => [r.generation, r.used_at !== null, r.kid])).toEqual([
      [0, true, null],
      [1, false, 'k1'],
    ])
    expect(rows[1]!.parent_id).toBe(rows[0]!.id)
    const session = await sessionRow(db, first.sessionId)
    expect(session).toMatchObject({ generation: 1, current_token_id: rows[1]!.id, ip: '2001:db8::1', user_agent: 'phone' })
    expect(events.map((e) => e.action)).toEqual(['tokens.issue', 'tokens.rotate'])

    const third = await tokens.rotate(second.token)
    expect((await sessionRow(db, first.sessionId))!.generation).toBe(2)
    expect(third.sessionId).toBe(first.sessionId)
  })

  it('works without keys (random successors, no grace window)', async () => {
    const { tokens } = makeTokens(pool, {})
    const userId = await insertUser(db)
    const first = await tokens.issue({ userId })
    const second = await tokens.rotate(first.token)
    const rows = await tokenRows(db, first.sessionId)
    expect(rows.map((r) => r.kid)).toEqual([null, null])
    expect(await failure(tokens.rotate(first.token))).toMatchObject({ code: 'TOKEN_REUSED' })
    expect((await sessionRow(db, second.sessionId))!.revoked_reason).toBe('reuse_detected')
  })

  it('reads a malformed token as TOKEN_INVALID without a round trip', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { sessionId, token } = await tokens.issue({ userId })
    const bad = ['', 'rt_', 'Bearer abc', `${token}x`, token.replace('rt_', 'rx_'), token.replace('.', '_'), `${token.slice(0, -1)}B`, `rt_${'a'.repeat(500)}`]
    const trips = await roundTrips.measure(async () => {
      for (const candidate of bad) expect(await failure(tokens.rotate(candidate))).toMatchObject({ code: 'TOKEN_INVALID' })
      expect(await failure(tokens.rotate(42 as unknown as string))).toMatchObject({ code: 'TOKEN_INVALID' })
    })
    expect(trips).toBe(0)
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_at: null, generation: 0 })
  })

  it('reads a wrong secret as TOKEN_INVALID and revokes nothing', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { sessionId, token } = await tokens.issue({ userId })
    const forged = `rt_${selectorOf(token)}.${Buffer.alloc(32, 7).toString('base64url')}`
    const error = await failure(tokens.rotate(forged))
    expect(error).toMatchObject({ code: 'TOKEN_INVALID' })
    expect(String(error.message)).not.toContain(selectorOf(token))
    expect(await failure(tokens.revoke(forged))).toMatchObject({ code: 'TOKEN_INVALID' })
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_at: null, generation: 0 })
    expect(await tokenRows(db, sessionId)).toHaveLength(1)
    // the real token still works
    await tokens.rotate(token)
  })

  it('extends the idle expiry on use but never the absolute expiry', async () => {
    const { tokens } = makeTokens(pool, { refreshTtl: '2h', idleTtl: '1h', keys: { k1: 'x'.repeat(32) } })
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    // pretend the family was issued 90 minutes ago and last used 50 minutes ago
    await sql`update tenantry.sessions set created_at = created_at - interval '90 minutes',
                expires_at = expires_at - interval '90 minutes', idle_expires_at = idle_expires_at - interval '50 minutes',
                last_used_at = last_used_at - interval '50 minutes' where id = ${sessionId}`.execute(db)
    const before = await sessionRow(db, sessionId)
    const next = await tokens.rotate(token)
    const after = await sessionRow(db, sessionId)

    expect(after!.expires_at.getTime()).toBe(before!.expires_at.getTime())
    expect(after!.idle_expires_at.getTime()).toBeGreaterThan(before!.idle_expires_at.getTime())
    // one hour of idle time from now would pass the absolute expiry (30 minutes away): capped
    expect(after!.idle_expires_at.getTime()).toBe(after!.expires_at.getTime())
    expect(next.expiresAt.getTime()).toBe(after!.expires_at.getTime())
  })

  it('lets the database clock decide expiry, whatever the application clock says', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    vi.useFakeTimers({ toFake: ['Date'] })

    // application clock 70 years ahead: the database still sees a fresh family
    vi.setSystemTime(new Date('2096-01-01T00:00:00Z'))
    const issued = await tokens.issue({ userId })
    expect(issued.expiresAt.getUTCFullYear()).toBeLessThan(2090)
    const rotated = await tokens.rotate(issued.token)

    // one millisecond past idle expiry by the database clock, application clock in 1990
    vi.setSystemTime(new Date('1990-01-01T00:00:00Z'))
    await sql`update tenantry.sessions set idle_expires_at = clock_timestamp() - interval '1 millisecond' where id = ${issued.sessionId}`.execute(db)
    expect(await failure(tokens.rotate(rotated.token))).toMatchObject({ code: 'TOKEN_EXPIRED' })

    // just inside the window: still good
    await sql`update tenantry.sessions set idle_expires_at = clock_timestamp() + interval '30 seconds' where id = ${issued.sessionId}`.execute(db)
    const again = await tokens.rotate(rotated.token)

    // absolute expiry reached while idle expiry is in the future would break the invariant, so both move
    await sql`update tenantry.sessions set expires_at = now() - interval '1 millisecond',
                idle_expires_at = now() - interval '1 millisecond' where id = ${issued.sessionId}`.execute(db)
    expect(await failure(tokens.rotate(again.token))).toMatchObject({ code: 'TOKEN_EXPIRED' })
    const session = await sessionRow(db, issued.sessionId)
    expect(session).toMatchObject({ revoked_at: null, generation: 2 })
  })

  it('rotates in one round trip, as do issue, revokeSession, revokeAllForUser and listSessions', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    let issued = await tokens.issue({ userId })
    expect(await roundTrips.measure(() => tokens.issue({ userId }))).toBe(1)
    const parent = issued.token
    expect(
      await roundTrips.measure(async () => {
        issued = await tokens.rotate(issued.token)
      }),
    ).toBe(1)
    // a grace retry of the parent
    expect(await roundTrips.measure(() => tokens.rotate(parent))).toBe(1)
    // a wrong secret is refused by the same call, before it locks anything
    const forged = `rt_${selectorOf(issued.token)}.${Buffer.alloc(32).toString('base64url')}`
    expect(await roundTrips.measure(() => tokens.rotate(forged).catch(() => undefined))).toBe(1)
    expect(await roundTrips.measure(() => tokens.listSessions(userId))).toBe(1)
    expect(await roundTrips.measure(() => tokens.revokeAllForUser(userId, { except: issued.sessionId }))).toBe(1)
    expect(await roundTrips.measure(() => tokens.revokeSession(issued.sessionId))).toBe(1)
    expect((await sessionRow(db, issued.sessionId))!.revoked_reason).toBe('revoked')
    const other = await tokens.issue({ userId })
    expect(await roundTrips.measure(() => tokens.revoke(other.token))).toBe(2)
    expect(await tokens.listSessions(userId)).toEqual([])
  })

  it('keeps the write when onCommitted throws', async () => {
    const { createTokenService } = await import('../../src/tokens/index.js')
    const { hostDb } = await import('./token-fixtures.js')
    const tokens = createTokenService({
      db: hostDb(pool),
      schema: 'tenantry',
      config: { keys: { k1: 'x'.repeat(32) } },
      onCommitted: () => {
        throw new Error('sink down')
      },
    })
    const userId = await insertUser(db)
    const issued = await tokens.issue({ userId })
    await tokens.rotate(issued.token)
    expect((await sessionRow(db, issued.sessionId))!.generation).toBe(1)
    expect((await auditRows(db, issued.sessionId)).map((a) => a.action)).toEqual(['tokens.issue', 'tokens.rotate'])
  })
})
