import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { auditRows, failure, insertUser, KEY_1, KEY_2, makeTokens, selectorOf, sessionRow, tokenRows } from './token-fixtures.js'

const fileDb = await useFileDatabase({ poolSize: 20 })
const { db, pool, url } = fileDb

/** Sets the parent's rotation time back, as if the grace window had passed. */
async function ageRotation(sessionId: string, generation: number, by: string): Promise<void> {
  await sql`update tenantry.refresh_tokens set used_at = used_at - ${by}::interval
             where session_id = ${sessionId} and generation = ${generation}`.execute(db)
}

describe('concurrent rotation', () => {
  it('turns 50 concurrent rotations of one token into exactly one successor', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })

    const results = await Promise.allSettled(Array.from({ length: 50 }, () => tokens.rotate(token)))

    const rows = await tokenRows(db, sessionId)
    expect(rows).toHaveLength(2)
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
    const returned = new Set(results.map((r) => (r as PromiseFulfilledResult<{ token: string }>).value.token))
    expect(returned.size).toBe(1)
    expect(selectorOf([...returned][0]!)).toBe(rows[1]!.selector)
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_at: null, generation: 1 })
    // the one successor is live and rotates on
    await tokens.rotate([...returned][0]!)
  })

  it('without a key still writes one successor; the losing racers are reuse', async () => {
    const { tokens } = makeTokens(pool, {})
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.rotate(token)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))
    expect(new Set(codes)).toEqual(new Set(['TOKEN_REUSED', 'TOKEN_REVOKED']))
    expect(await tokenRows(db, sessionId)).toHaveLength(2)
    expect((await sessionRow(db, sessionId))!.revoked_reason).toBe('reuse_detected')
  })
})

describe('grace window', () => {
  it('answers a retry of the direct parent with the same successor, adding no rows and revoking nothing', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    const first = await tokens.rotate(token)
    const auditBefore = await auditRows(db, sessionId)
    const rowsBefore = await tokenRows(db, sessionId)

    const retry = await tokens.rotate(token)
    const retryAgain = await tokens.rotate(token)

    expect(retry).toEqual(first)
    expect(retryAgain).toEqual(first)
    expect(await tokenRows(db, sessionId)).toEqual(rowsBefore)
    expect(await auditRows(db, sessionId)).toEqual(auditBefore)
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_at: null, generation: 1 })
  })

  it('keeps retries working across a key rotation (kid)', async () => {
    const before = makeTokens(pool, { keys: { k1: KEY_1 } }).tokens
    const after = makeTokens(pool, { keys: { k1: KEY_1, k2: KEY_2 } }).tokens
    const userId = await insertUser(db)
    const { token, sessionId } = await before.issue({ userId })
    const first = await before.rotate(token)

    // the deployment now signs with k2; the retry of a k1-derived successor still re-derives it
    expect(await after.rotate(token)).toEqual(first)
    const next = await after.rotate(first.token)
    expect((await tokenRows(db, sessionId)).map((r) => r.kid)).toEqual([null, 'k1', 'k2'])
    expect(await after.rotate(first.token)).toEqual(next)
  })

  it('treats a retry as reuse once the key that derived the successor is gone', async () => {
    const old = makeTokens(pool, { keys: { k1: KEY_1 } }).tokens
    const rotated = makeTokens(pool, { keys: { k2: KEY_2 } }).tokens
    const userId = await insertUser(db)
    const { token, sessionId } = await old.issue({ userId })
    await old.rotate(token)
    expect(await failure(rotated.rotate(token))).toMatchObject({ code: 'TOKEN_REUSED' })
    expect((await sessionRow(db, sessionId))!.revoked_reason).toBe('reuse_detected')
  })

  it('revokes the family when the parent is replayed after the window', async () => {
    const { tokens, events } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    const child = await tokens.rotate(token)
    await ageRotation(sessionId, 0, '11 seconds')

    expect(await failure(tokens.rotate(token, { ip: '198.51.100.9' }))).toMatchObject({ code: 'TOKEN_REUSED' })

    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_reason: 'reuse_detected' })
    expect(await failure(tokens.rotate(child.token))).toMatchObject({ code: 'TOKEN_REVOKED' })
    expect(await tokenRows(db, sessionId)).toHaveLength(2)
    const reuse = (await auditRows(db, sessionId)).filter((a) => a.action === 'tokens.reuse_detected')
    expect(reuse).toHaveLength(1)
    expect(reuse[0]).toMatchObject({ outcome: 'denied', error_code: 'TOKEN_REUSED', resource_type: 'session', actor_user_id: userId, ip: '198.51.100.9' })
    expect(JSON.stringify(reuse[0])).not.toContain(selectorOf(token))
    expect(events.filter((e) => e.action === 'tokens.reuse_detected')).toHaveLength(1)
  })

  it('treats a grandparent presented inside the window as reuse', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const gen0 = await tokens.issue({ userId })
    const gen1 = await tokens.rotate(gen0.token)
    const gen2 = await tokens.rotate(gen1.token)

    expect(await failure(tokens.rotate(gen0.token))).toMatchObject({ code: 'TOKEN_REUSED' })
    expect((await sessionRow(db, gen0.sessionId))!.revoked_reason).toBe('reuse_detected')
    expect(await failure(tokens.rotate(gen2.token))).toMatchObject({ code: 'TOKEN_REVOKED' })
    expect(await tokenRows(db, gen0.sessionId)).toHaveLength(3)
  })

  it('treats a retry of the parent as reuse once its successor has been used, even inside the window', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const gen0 = await tokens.issue({ userId })
    const gen1 = await tokens.rotate(gen0.token)
    // a grace retry before the successor is used is fine ...
    expect(await tokens.rotate(gen0.token)).toEqual(gen1)
    await tokens.rotate(gen1.token)
    // ... after it, the parent is a replay
    expect(await failure(tokens.rotate(gen0.token))).toMatchObject({ code: 'TOKEN_REUSED' })
    expect((await sessionRow(db, gen0.sessionId))!.revoked_reason).toBe('reuse_detected')
  })

  it("leaves the user's other families untouched after reuse", async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const stolen = await tokens.issue({ userId, clientId: 'web' })
    const phone = await tokens.issue({ userId, clientId: 'ios' })
    await tokens.rotate(stolen.token)
    await ageRotation(stolen.sessionId, 0, '1 minute')

    expect(await failure(tokens.rotate(stolen.token))).toMatchObject({ code: 'TOKEN_REUSED' })

    expect(await sessionRow(db, phone.sessionId)).toMatchObject({ revoked_at: null })
    await tokens.rotate(phone.token)
    expect((await tokens.listSessions(userId)).map((s) => s.id)).toEqual([phone.sessionId])
  })
})

describe('locks', () => {
  it('never leaves a live token when revokeSession races rotate', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    for (let i = 0; i < 15; i++) {
      const { token, sessionId } = await tokens.issue({ userId })
      const [rotated, revoked] = await Promise.allSettled([tokens.rotate(token), tokens.revokeSession(sessionId)])
      expect(revoked).toEqual({ status: 'fulfilled', value: true })
      expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_reason: 'revoked' })
      if (rotated.status === 'fulfilled') {
        expect(await failure(tokens.rotate(rotated.value.token))).toMatchObject({ code: 'TOKEN_REVOKED' })
      } else {
        expect(rotated.reason).toMatchObject({ code: 'TOKEN_REVOKED' })
      }
      expect(await failure(tokens.rotate(token))).toMatchObject({ code: 'TOKEN_REVOKED' })
    }
    expect(await tokens.listSessions(userId)).toEqual([])
  })

  it('surfaces a lock timeout as RETRYABLE, never as reuse', async () => {
    const { tokens } = makeTokens(pool, { keys: { k1: KEY_1 }, lockTimeout: 150 })
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      await holder.query('begin')
      await holder.query('select 1 from tenantry.sessions where id = $1 for update', [sessionId])
      const error = await failure(tokens.rotate(token))
      expect(error).toMatchObject({ code: 'RETRYABLE', retryable: true, sqlState: '55P03' })
      expect(await failure(tokens.revokeSession(sessionId))).toMatchObject({ code: 'RETRYABLE' })
    } finally {
      await holder.query('rollback')
      await holder.end()
    }
    expect(await sessionRow(db, sessionId)).toMatchObject({ revoked_at: null, generation: 0 })
    expect(await tokenRows(db, sessionId)).toHaveLength(1)
    // the same token, retried, rotates normally
    await tokens.rotate(token)
    expect((await sessionRow(db, sessionId))!.generation).toBe(1)
  })
})
