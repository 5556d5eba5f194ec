import { describe, expect, it } from 'vitest'
import { createTokenService, resolveTokenConfig } from '../../src/tokens/index.js'
import { deriveSuccessorSecret, formatToken, parseToken } from '../../src/tokens/token-format.js'
import { useFileDatabase } from '../support/test-database.js'
import { hostDb, insertUser, sessionRow } from './token-fixtures.js'

const fileDb = await useFileDatabase()

describe('token config', () => {
  it('applies the documented defaults; no key means no grace window', () => {
    expect(resolveTokenConfig()).toMatchObject({
      refreshTtlMs: 30 * 86_400_000,
      idleTtlMs: 7 * 86_400_000,
      graceMs: 0,
      maxSessionsPerUser: 10,
      lockTimeoutMs: 5000,
      signingKid: null,
    })
    expect(resolveTokenConfig({ keys: { k1: 'x'.repeat(32), k2: 'y'.repeat(32) } })).toMatchObject({ graceMs: 10_000, signingKid: 'k2' })
    expect(resolveTokenConfig({ keys: { k1: undefined } })).toMatchObject({ graceMs: 0, signingKid: null })
    expect(
      resolveTokenConfig({ refreshTtl: '12h', idleTtl: '15m', graceMs: 2000, keys: { k1: 'x'.repeat(32), k2: 'y'.repeat(32) }, signingKey: 'k1' }),
    ).toMatchObject({ refreshTtlMs: 43_200_000, idleTtlMs: 900_000, graceMs: 2000, signingKid: 'k1' })
    expect(resolveTokenConfig({ refreshTtl: '1d' }).idleTtlMs).toBe(86_400_000)
  })

  it.each([
    [{ refreshTtl: 'forever' }],
    [{ refreshTtl: 0 }],
    [{ idleTtl: '31d' }],
    [{ graceMs: -1 }],
    [{ graceMs: 600_000 }],
    [{ maxSessionsPerUser: 0 }],
    [{ keys: { k1: 'short' } }],
    [{ keys: { 'bad kid': 'x'.repeat(32) } }],
    [{ keys: { k1: 'x'.repeat(32) }, signingKey: 'k9' }],
  ])('refuses %j with CONFIGURATION at creation, before any SQL', async (config) => {
    const trips = await fileDb.roundTrips.measure(async () => {
      expect(() => createTokenService({ db: hostDb(fileDb.pool), schema: 'tenantry', config: config as never })).toThrow(
        expect.objectContaining({ code: 'CONFIGURATION' }),
      )
    })
    expect(trips).toBe(0)
  })

  it('refuses a misspelt option key with VALIDATION naming it, before any SQL', async () => {
    const trips = await fileDb.roundTrips.measure(async () => {
      expect(() => createTokenService({ db: hostDb(fileDb.pool), schema: 'tenantry', config: { refreshTtls: '30d' } as never })).toThrow(
        expect.objectContaining({ code: 'VALIDATION', message: expect.stringContaining('refreshTtls') }),
      )
    })
    expect(trips).toBe(0)
  })

  it('never puts key material in a configuration error', () => {
    const key = 'a-secret-key-that-is-too-short'
    try {
      resolveTokenConfig({ keys: { k1: key } })
    } catch (error) {
      expect(JSON.stringify(error)).not.toContain(key)
      expect(String((error as Error).message)).not.toContain(key)
    }
  })

  it('refuses a transaction as the database handle: a reuse revocation must commit on its own', async () => {
    const userId = await insertUser(fileDb.db)
    await hostDb(fileDb.pool)
      .transaction()
      .execute(async (trx) => {
        expect(() => createTokenService({ db: trx, schema: 'tenantry' })).toThrow(expect.objectContaining({ code: 'CONFIGURATION' }))
      })
    const tokens = createTokenService({ db: hostDb(fileDb.pool), schema: 'tenantry' })
    const { sessionId } = await tokens.issue({ userId })
    expect(await sessionRow(fileDb.db, sessionId)).toMatchObject({ user_id: userId })
  })
})

describe('token format', () => {
  it('round-trips rt_<selector>.<secret> and derives successors deterministically per key and id', () => {
    const secret = Buffer.alloc(32, 1)
    const token = formatToken('AAAAAAAAAAAAAAAAAAAAAA', secret)
    expect(parseToken(token)).toEqual({ selector: 'AAAAAAAAAAAAAAAAAAAAAA', secret })
    const id = '6f1c2f0e-8a5b-4c1d-9e2f-0123456789ab'
    const k1 = Buffer.from('x'.repeat(32))
    const k2 = Buffer.from('y'.repeat(32))
    expect(deriveSuccessorSecret(k1, secret, id)).toEqual(deriveSuccessorSecret(k1, secret, id))
    expect(deriveSuccessorSecret(k1, secret, id)).not.toEqual(deriveSuccessorSecret(k2, secret, id))
    expect(deriveSuccessorSecret(k1, secret, id)).not.toEqual(deriveSuccessorSecret(k1, Buffer.alloc(32, 2), id))
    expect(deriveSuccessorSecret(k1, secret, id)).toHaveLength(32)
  })
})
