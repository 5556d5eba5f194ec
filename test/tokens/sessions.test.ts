import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { auditRows, failure, insertUser, liveSessionCount, makeTokens, sessionRow, tokenRows } from './token-fixtures.js'

const fileDb = await useFileDatabase({ poolSize: 20 })
const { db, pool, roundTrips } = fileDb

describe('session cap', () => {
  it('never exceeds maxSessionsPerUser under concurrent logins', async () => {
    const { tokens } = makeTokens(pool, { maxSessionsPerUser: 3 })
    const userId = await insertUser(db)
    const issued = await Promise.all(Array.from({ length: 25 }, () => tokens.issue({ userId })))

    expect(await liveSessionCount(db, userId)).toBe(3)
    const all = await db.selectFrom('tenantry.sessions').select(['revoked_reason']).where('user_id', '=', userId).execute()
    expect(all).toHaveLength(25)
    expect(all.filter((s) => s.revoked_reason === 'evicted')).toHaveLength(22)
    expect(new Set(issued.map((i) => i.sessionId)).size).toBe(25)
  })

  it('evicts the least recently used session, not the oldest', async () => {
    const { tokens, events } = makeTokens(pool, { maxSessionsPerUser: 2 })
    const userId = await insertUser(db)
    const a = await tokens.issue({ userId, clientId: 'a' })
    const b = await tokens.issue({ userId, clientId: 'b' })
    await tokens.rotate(a.token) // a is now the most recently used
    const c = await tokens.issue({ userId, clientId: 'c' })

    expect(await sessionRow(db, b.sessionId)).toMatchObject({ revoked_reason: 'evicted' })
    expect((await tokens.listSessions(userId)).map((s) => s.clientId)).toEqual(['c', 'a'])
    expect(await failure(tokens.rotate(b.token))).toMatchObject({ code: 'TOKEN_REVOKED' })
    const eviction = (await auditRows(db, b.sessionId)).find((r) => r.action === 'tokens.revoke')
    expect(eviction).toMatchObject({ outcome: 'success', metadata: expect.objectContaining({ reason: 'evicted' }) })
    expect(events.filter((e) => e.action === 'tokens.revoke' && e.resourceId === b.sessionId)).toHaveLength(1)
    expect(c.sessionId).not.toBe(b.sessionId)
  })
})

describe('revocation', () => {
  it('revokes every session of a user except the one named, leaving other users alone', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const otherUser = await insertUser(db)
    const keep = await tokens.issue({ userId, clientId: 'this device' })
    const gone = await Promise.all([tokens.issue({ userId }), tokens.issue({ userId })])
    const other = await tokens.issue({ userId: otherUser })

    expect(await tokens.revokeAllForUser(userId, { except: keep.sessionId })).toBe(2)

    for (const g of gone) expect(await sessionRow(db, g.sessionId)).toMatchObject({ revoked_reason: 'revoked_all' })
    expect(await sessionRow(db, keep.sessionId)).toMatchObject({ revoked_at: null })
    expect(await sessionRow(db, other.sessionId)).toMatchObject({ revoked_at: null })
    await tokens.rotate(keep.token)
    expect(await failure(tokens.rotate(gone[0]!.token))).toMatchObject({ code: 'TOKEN_REVOKED' })
    expect(await tokens.revokeAllForUser(userId)).toBe(1)
    expect(await tokens.listSessions(userId)).toEqual([])
  })

  it('logs out with revoke(token), idempotently, and audits it once', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    await tokens.revoke(token, { ip: '192.0.2.1' })
    await tokens.revoke(token)
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_reason: 'logout' })
    const revokes = (await auditRows(db, sessionId)).filter((r) => r.action === 'tokens.revoke')
    expect(revokes).toHaveLength(1)
    expect(revokes[0]).toMatchObject({ ip: '192.0.2.1', resource_type: 'session' })
    expect(await tokens.revokeSession(sessionId)).toBe(false)
    expect(await failure(tokens.rotate(token))).toMatchObject({ code: 'TOKEN_REVOKED' })
  })

  it('refuses a malformed session or user id with VALIDATION', async () => {
    const { tokens } = makeTokens(pool)
    expect(await failure(tokens.revokeSession('nope'))).toMatchObject({ code: 'VALIDATION' })
    expect(await failure(tokens.revokeAllForUser('nope'))).toMatchObject({ code: 'VALIDATION' })
    expect(await failure(tokens.listSessions('nope'))).toMatchObject({ code: 'VALIDATION' })
  })
})

describe('listSessions', () => {
  it('shows live sessions, most recently used first, without tokens or hashes', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const tenant = await db
      .insertInto('tenantry.tenants')
      .values({ slug: `t-${Date.now()}`, name: 't' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const web = await tokens.issue({ userId, tenantId: tenant.id, clientId: 'web', ip: '203.0.113.1', userAgent: 'Firefox' })
    const ios = await tokens.issue({ userId, clientId: 'ios' })
    const dead = await tokens.issue({ userId, clientId: 'dead' })
    await tokens.revokeSession(dead.sessionId)
    await tokens.rotate(web.token)

    const sessions = await tokens.listSessions(userId)
    expect(sessions.map((s) => s.id)).toEqual([web.sessionId, ios.sessionId])
    expect(sessions[0]).toMatchObject({ userId, tenantId: tenant.id, clientId: 'web', ip: '203.0.113.1', userAgent: 'Firefox', generation: 1 })
    expect(Object.keys(sessions[0]!).sort()).toEqual([
      'clientId',
      'createdAt',
      'expiresAt',
      'generation',
      'id',
      'idleExpiresAt',
      'ip',
      'lastUsedAt',
      'tenantId',
      'userAgent',
      'userId',
    ])
  })
})

describe('prune', () => {
  it('deletes only dead families, in batches, and a pruned token reads as TOKEN_INVALID', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const live = await tokens.issue({ userId })
    const revoked = await tokens.issue({ userId })
    const reused = await tokens.issue({ userId })
    const idle = await tokens.issue({ userId })
    await tokens.revokeSession(revoked.sessionId)
    await tokens.rotate(reused.token)
    await sql`update tenantry.refresh_tokens set used_at = used_at - interval '1 hour' where session_id = ${reused.sessionId}`.execute(db)
    expect(await failure(tokens.rotate(reused.token))).toMatchObject({ code: 'TOKEN_REUSED' })
    await sql`update tenantry.sessions set idle_expires_at = clock_timestamp() - interval '1 second' where id = ${idle.sessionId}`.execute(db)

    let deleted = 0
    const trips = await roundTrips.measure(async () => {
      deleted = await tokens.prune({ batchSize: 1 })
    })
    expect(deleted).toBeGreaterThanOrEqual(3)
    expect(trips).toBe(deleted + 1)

    expect(await sessionRow(db, live.sessionId)).toBeDefined()
    for (const gone of [revoked, reused, idle]) {
      expect(await sessionRow(db, gone.sessionId)).toBeUndefined()
      expect(await tokenRows(db, gone.sessionId)).toEqual([])
      // gone without a trace: reads as invalid, not as reuse, and revokes nothing
      expect(await failure(tokens.rotate(gone.token))).toMatchObject({ code: 'TOKEN_INVALID' })
    }
    // audit rows outlive the families they describe
    expect((await auditRows(db, reused.sessionId)).map((r) => r.action)).toContain('tokens.reuse_detected')
    await tokens.rotate(live.token)
    expect(await tokens.prune()).toBe(0)
  })

  it('skips a dead family that another transaction holds, and never waits for it', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const held = await tokens.issue({ userId })
    await tokens.revokeSession(held.sessionId)
    const client = await pool.connect()
    try {
      await client.query('begin')
      await client.query('select 1 from tenantry.sessions where id = $1 for update', [held.sessionId])
      await tokens.prune({ batchSize: 100 })
      expect(await sessionRow(db, held.sessionId)).toBeDefined()
    } finally {
      await client.query('rollback')
      client.release()
    }
    await tokens.prune({ batchSize: 100 })
    expect(await sessionRow(db, held.sessionId)).toBeUndefined()
  })
})
