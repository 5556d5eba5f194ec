import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type pg from 'pg'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { beginWithContextQuery } from '../../src/execution/context-transaction.js'
import type { RequestState } from '../../src/runtime/runtime.js'
import type { Tenantry } from '../../src/index.js'
import { hashSecret } from '../../src/tokens/token-format.js'
import { createAppRole, type AppRole } from '../isolation/support/app-role.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { useFileDatabase } from '../support/test-database.js'
import { failure, insertUser, makeTokens, selectorOf, sessionRow, tokenRows } from './token-fixtures.js'

/**
 * The bundled token functions, called directly by the application role (not the owner, no
 * BYPASSRLS) inside a transaction that carries a tenant context exactly as tenantry sets it. Tenant
 * code that reaches SQL at all (raw SQL on a tenant transaction, a function call slipped into a
 * query) gets this much, so this is what the functions themselves must withstand.
 */

const fileDb = await useFileDatabase()
const { db } = fileDb
let owner: Tenantry<AppDB>
let app: Tenantry<AppDB>
let role: AppRole
let tenantA: string
let tenantB: string
let userA: string
let userB: string

/** A live session of B's user, with its token; each attack aims at a fresh one. */
let victim: { sessionId: string; token: string }

/** `begin` + the context of a tenant unit of work, as `src/execution/context-transaction.ts` sends it. */
function beginAs(tenantId: string): string {
  return beginWithContextQuery({ context: { tenantId, actorId: null }, system: null, runtime: { distributedAudit: false } } as unknown as RequestState).sql
}

/**
 * Runs `work` on one connection of the app role inside tenant `tenantId`'s transaction, or, with
 * `null`, a transaction without any context (query mode sets none; the token service sets none).
 */
async function inTenantTransaction<T>(tenantId: string | null, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await role.pool.connect()
  try {
    await client.query(tenantId === null ? 'begin' : beginAs(tenantId))
    try {
      const result = await work(client)
      await client.query('commit')
      return result
    } catch (error) {
      await client.query('rollback')
      throw error
    }
  } finally {
    client.release()
  }
}

/** Runs one attacking statement in A's context; its error (if any) is returned, not thrown. */
function attackAsA(text: string, values: unknown[] = []): Promise<{ rows: any[]; error: unknown }> {
  return attackIn(tenantA, text, values)
}

async function attackIn(tenantId: string | null, text: string, values: unknown[] = []): Promise<{ rows: any[]; error: unknown }> {
  return inTenantTransaction(tenantId, async (client) => {
    await client.query('savepoint attack')
    try {
      const { rows } = await client.query(text, values)
      return { rows, error: undefined }
    } catch (error) {
      await client.query('rollback to savepoint attack')
      return { rows: [], error }
    }
  })
}

async function live(sessionId: string): Promise<boolean> {
  const row = await sessionRow(db, sessionId)
  return row !== undefined && row.revoked_at === null
}

async function addMember(tenantId: string, userId: string): Promise<void> {
  await db.insertInto('tenantry.memberships').values({ tenant_id: tenantId, user_id: userId }).execute()
}

beforeAll(async () => {
  await createHostTables(db)
  tenantA = await insertTenant(db, 'fn-a')
  tenantB = await insertTenant(db, 'fn-b')
  await db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A secret' },
      { tenant_id: tenantB, name: 'B secret' },
    ])
    .execute()
  userA = await insertUser(db)
  userB = await insertUser(db)
  await addMember(tenantA, userA)
  await addMember(tenantB, userB)
  owner = makeTenantry(fileDb.pool, { isolation: 'rls' })
  await owner.rls.enable()
  role = await createAppRole(fileDb, { poolSize: 2 })
  app = makeTenantry(role.pool, { isolation: 'rls' })
})

// The token service as the application runs it: the app role, no context (a refresh request).
beforeEach(async () => {
  victim = await makeTokens(role.pool).tokens.issue({ userId: userB, tenantId: tenantB })
})

describe('the system switch does not outlive a token function', () => {
  const calls: [string, string, () => unknown[]][] = [
    ['tokens_find', 'select * from tenantry.tokens_find($1::text, $2::bytea)', () => [selectorOf(victim.token), Buffer.alloc(32)]],
    ['tokens_find (0.1 signature)', 'select * from tenantry.tokens_find($1::text)', () => ['x'.repeat(22)]],
    ['tokens_list_sessions', 'select * from tenantry.tokens_list_sessions($1::uuid)', () => [userB]],
    ['tokens_revoke_session', "select * from tenantry.tokens_revoke_session($1::uuid, 'revoked', null, null, 1000)", () => [randomUUID()]],
    ['tokens_revoke_all', 'select * from tenantry.tokens_revoke_all($1::uuid, null, 1000)', () => [randomUUID()]],
    ['tokens_prune', 'select tenantry.tokens_prune(0)', () => []],
    [
      'tokens_rotate',
      `select * from tenantry.tokens_rotate($1::text, $2::bytea, $3::uuid, $4::text, $5::bytea, null::text,
         86400000, 0, '{}'::text[], null, null, 1000)`,
      () => [selectorOf(victim.token), Buffer.alloc(32), randomUUID(), randomBytes(16).toString('base64url'), Buffer.alloc(32)],
    ],
    [
      'tokens_rotate (0.1 signature)',
      `select * from tenantry.tokens_rotate($1::uuid, $2::uuid, $3::uuid, $4::text, $5::bytea, null::text,
         86400000, 0, '{}'::text[], null, null, 1000)`,
      () => [randomUUID(), victim.sessionId, randomUUID(), randomBytes(16).toString('base64url'), Buffer.alloc(32)],
    ],
  ]

  it.each(calls)('%s: a later statement of the same transaction sees only the context tenant', async (_name, text, values) => {
    const seen = await inTenantTransaction(tenantA, async (client) => {
      await client.query('savepoint call')
      await client.query(text, values()).catch(() => client.query('rollback to savepoint call'))
      const { rows: system } = await client.query('select tenantry.is_system() as on')
      const { rows: projects } = await client.query('select name from projects order by name')
      const { rows: sessions } = await client.query('select id from tenantry.sessions')
      return { system: system[0].on, projects: projects.map((r) => r.name), sessions: sessions.length }
    })
    expect(seen).toEqual({ system: false, projects: ['A secret'], sessions: 0 })
  })

  it('through the public API: raw SQL on a tenant transaction, then another statement of it', async () => {
    const seen = await app.withContext({ tenantId: tenantA }).transaction(async (tx) => {
      // scopedDb({ allowRawSql: true }) leaves raw text to the database layer, which must hold
      const raw = tx.scopedDb({ allowRawSql: true })
      await sql`select * from tenantry.tokens_list_sessions(${userB}::uuid)`.execute(raw)
      const { rows } = await sql<{ name: string }>`select name from projects order by name`.execute(raw)
      const { rows: sessions } = await sql`select id from tenantry.sessions`.execute(raw)
      return { projects: rows.map((r) => r.name), sessions: sessions.length }
    })
    expect(seen).toEqual({ projects: ['A secret'], sessions: 0 })
  })
})

describe('through scope.db, as the outside review wrote it', () => {
  // scope.db may refuse tenantry's functions outright (FORBIDDEN); if a call gets through, the
  // database must still give nothing of B and leave nothing switched on.
  const refusedOrRows = (promise: Promise<unknown[]>) =>
    promise.then(
      (rows) => rows,
      (error: unknown) => {
        expect(error).toMatchObject({ code: expect.stringMatching(/^(FORBIDDEN|VALIDATION)$/) })
        return []
      },
    )

  it("lists no session of B, revokes none, and leaves a later statement of the transaction to A's rows", async () => {
    const s = app.withContext({ tenantId: tenantA })
    const listed = await refusedOrRows(
      s.db
        .selectFrom((eb: any) => eb.fn('tenantry.tokens_list_sessions', [eb.val(userB)]).as('x'))
        .selectAll()
        .execute(),
    )
    expect(listed).toEqual([])
    await refusedOrRows(
      s.db
        .selectFrom((eb: any) =>
          eb.fn('tenantry.tokens_revoke_session', [eb.val(victim.sessionId), eb.val('revoked'), eb.val(null), eb.val(null), eb.val(1000)]).as('x'),
        )
        .selectAll()
        .execute(),
    )
    expect(await live(victim.sessionId)).toBe(true)
    const names = await s.transaction(async (tx) => {
      await refusedOrRows(
        tx.db
          .selectFrom((eb: any) => eb.fn('tenantry.tokens_find', [eb.val('x'.repeat(22)), eb.val(Buffer.alloc(32))]).as('f'))
          .selectAll()
          .execute(),
      )
      const { rows } = await sql<{ name: string }>`select name from projects`.execute(tx.scopedDb({ allowRawSql: true }))
      return rows.map((r) => r.name)
    })
    expect(names).toEqual(['A secret'])
  })
})

describe("another tenant's sessions, from a tenant context", () => {
  it('lists none of them', async () => {
    const { rows } = await attackAsA('select id, user_id, tenant_id from tenantry.tokens_list_sessions($1::uuid)', [userB])
    expect(rows).toEqual([])
  })

  it('lists none of them through scopedDb({ allowRawSql: true }) either', async () => {
    const scoped = app.withContext({ tenantId: tenantA }).scopedDb({ allowRawSql: true })
    const { rows } = await sql`select id from tenantry.tokens_list_sessions(${userB}::uuid)`.execute(scoped)
    expect(rows).toEqual([])
  })

  it("lists only the context tenant's sessions of a user who belongs to both tenants", async () => {
    const shared = await insertUser(db)
    await addMember(tenantA, shared)
    await addMember(tenantB, shared)
    const { tokens } = makeTokens(role.pool)
    const inA = await tokens.issue({ userId: shared, tenantId: tenantA })
    const inB = await tokens.issue({ userId: shared, tenantId: tenantB })
    const { rows } = await attackAsA('select id from tenantry.tokens_list_sessions($1::uuid)', [shared])
    expect(rows.map((r) => r.id)).toEqual([inA.sessionId])
    // revoke-all in A's context ends A's session of that user, never B's
    const revoked = await attackAsA('select * from tenantry.tokens_revoke_all($1::uuid, null, 1000)', [shared])
    expect(revoked.rows[0]).toMatchObject({ revoked: 1 })
    expect(await live(inA.sessionId)).toBe(false)
    expect(await live(inB.sessionId)).toBe(true)
  })

  it('cannot revoke one by id', async () => {
    const { rows } = await attackAsA("select outcome from tenantry.tokens_revoke_session($1::uuid, 'revoked', null, null, 1000)", [victim.sessionId])
    expect(rows.map((r) => r.outcome)).not.toContain('revoked')
    expect(await live(victim.sessionId)).toBe(true)
  })

  it('cannot revoke them all', async () => {
    const { rows } = await attackAsA('select revoked from tenantry.tokens_revoke_all($1::uuid, null, 1000)', [userB])
    expect(rows.map((r) => r.revoked)).not.toContain(1)
    expect(await live(victim.sessionId)).toBe(true)
  })

  it('cannot prune them once dead', async () => {
    const { tokens } = makeTokens(role.pool)
    const dead = await tokens.issue({ userId: userB, tenantId: tenantB })
    await tokens.revokeSession(dead.sessionId)
    await attackAsA('select tenantry.tokens_prune(1000)')
    expect(await sessionRow(db, dead.sessionId)).toBeDefined()
  })

  it('cannot open a session (mint a token) for a user of another tenant', async () => {
    const before = await db.selectFrom('tenantry.sessions').select('id').where('user_id', '=', userB).execute()
    const { error } = await attackAsA(
      `select * from tenantry.tokens_issue($1::uuid, $2::uuid, null, null, null, $3::uuid, $4::uuid, $5::text, $6::bytea,
         86400000, 86400000, 10, 1000)`,
      [userB, tenantB, randomUUID(), randomUUID(), 'A'.repeat(22), hashSecret(randomBytes(32))],
    )
    expect((error as { code?: string } | undefined)?.code).toBe('42501')
    const after = await db.selectFrom('tenantry.sessions').select('id').where('user_id', '=', userB).execute()
    expect(after).toEqual(before)
    expect(await live(victim.sessionId)).toBe(true)
  })

  it('still lets the tenant list and revoke its own sessions', async () => {
    const ownSession = await makeTokens(role.pool).tokens.issue({ userId: userA, tenantId: tenantA })
    const { rows } = await attackAsA('select id from tenantry.tokens_list_sessions($1::uuid)', [userA])
    expect(rows.map((r) => r.id)).toEqual([ownSession.sessionId])
    const revoked = await attackAsA("select outcome from tenantry.tokens_revoke_session($1::uuid, 'revoked', null, null, 1000)", [ownSession.sessionId])
    expect(revoked.rows).toEqual([{ outcome: 'revoked' }])
    expect(await live(ownSession.sessionId)).toBe(false)
  })
})

describe('an asSystem scope', () => {
  it("reaches every tenant's sessions, and only for its own statement", async () => {
    const seen = await app.asSystem({ reason: 'support desk' }).transaction(async (tx) => {
      const raw = tx.scopedDb({ allowRawSql: true })
      const { rows } = await sql<{ id: string }>`select id from tenantry.tokens_list_sessions(${userB}::uuid)`.execute(raw)
      const { rows: system } = await sql<{ on: boolean }>`select tenantry.is_system() as on`.execute(raw)
      return { ids: rows.map((r) => r.id), system: system[0]!.on }
    })
    expect(seen.ids).toContain(victim.sessionId)
    // the scope itself is the system: the function restored the caller's value, not '' or 'off'
    expect(seen.system).toBe(true)
  })
})

describe.each([
  ['in a tenant context', () => tenantA],
  ['without a context', () => null],
])('a token, %s, only with its secret', (_label, context) => {
  it('does not hand out the stored hash of a selector', async () => {
    const { rows } = await attackIn(context(), 'select * from tenantry.tokens_find($1::text, $2::bytea)', [selectorOf(victim.token), Buffer.alloc(32)])
    expect(rows).toEqual([])
    const legacy = await attackIn(context(), 'select * from tenantry.tokens_find($1::text)', [selectorOf(victim.token)])
    expect(legacy.rows).toEqual([])
  })

  it('cannot rotate a session it learned the ids of, without the secret', async () => {
    const [token] = await tokenRows(db, victim.sessionId)
    const attackerSecret = randomBytes(32)
    const attackerSelector = randomBytes(16).toString('base64url')
    // the 0.1 signature took ids only: the current token's id and its session's id were enough
    await attackIn(
      context(),
      `select * from tenantry.tokens_rotate($1::uuid, $2::uuid, $3::uuid, $4::text, $5::bytea, null::text,
         86400000, 0, '{}'::text[], null, null, 1000)`,
      [token!.id, victim.sessionId, randomUUID(), attackerSelector, hashSecret(attackerSecret)],
    )
    // the current signature wants the presented secret's hash: a guess is not the token
    const { rows } = await attackIn(
      context(),
      `select outcome from tenantry.tokens_rotate($1::text, $2::bytea, $3::uuid, $4::text, $5::bytea, null::text,
         86400000, 0, '{}'::text[], null, null, 1000)`,
      [selectorOf(victim.token), Buffer.alloc(32), randomUUID(), attackerSelector, hashSecret(attackerSecret)],
    )
    expect(rows).toEqual([{ outcome: 'invalid' }])
    const tokensNow = await tokenRows(db, victim.sessionId)
    expect(tokensNow.map((r) => r.selector)).toEqual([selectorOf(victim.token)])
    expect(await sessionRow(db, victim.sessionId)).toMatchObject({ generation: 0, revoked_at: null })
  })
})

describe('the token service', () => {
  it('rotates for the holder of the token, whoever calls', async () => {
    const { tokens } = makeTokens(role.pool)
    const issued = await tokens.issue({ userId: userB, tenantId: tenantB })
    const next = await tokens.rotate(issued.token)
    expect(next.sessionId).toBe(issued.sessionId)
    expect((await sessionRow(db, issued.sessionId))!.generation).toBe(1)
    expect(await failure(tokens.rotate(`rt_${selectorOf(next.token)}.${randomBytes(32).toString('base64url')}`))).toMatchObject({
      code: 'TOKEN_INVALID',
    })
    expect(await live(issued.sessionId)).toBe(true)
  })
})
