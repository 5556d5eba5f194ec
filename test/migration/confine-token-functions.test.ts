import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundledMigrations, migrate, migrationStatus } from '../../src/migration/migrate.js'
import { createTokenService, type TokenService } from '../../src/tokens/index.js'
import { createFreshDatabase, type FreshDatabase } from './support/fresh-database.js'

/**
 * An install made before `0005_confine_token_functions` (0.1: migrations 0001-0004) with a live
 * session, upgraded in place: the session's token keeps working, and 0005 goes down and up again.
 */

const CONFINE = '0005_confine_token_functions'
let fresh: FreshDatabase
let tokens: TokenService
let userId: string

interface FunctionRow {
  signature: string
  config: string[] | null
  restores: boolean
}

/** The token functions with their argument types, SET clauses and whether they restore the system switch. */
async function tokenFunctions(): Promise<FunctionRow[]> {
  const { rows } = await sql<FunctionRow>`
    select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as signature, p.proconfig as config,
           p.prosrc like '%set_config(''tenantry.system'', v_prev_system, true)%' as restores
      from pg_proc p
     where p.pronamespace = 'tenantry'::regnamespace and p.proname like 'tokens\\_%'
     order by 1`.execute(fresh.db)
  return rows
}

/** The bundled migrations up to 0005: later ones are not what this file is about. */
const throughConfine = async () => (await bundledMigrations()).filter((m) => m.name <= CONFINE)

beforeAll(async () => {
  fresh = await createFreshDatabase()
  const before = async () => (await bundledMigrations()).filter((m) => m.name < CONFINE)
  const { error } = await migrate({ pool: fresh.newPool(), sources: before })
  expect(error).toBeUndefined()
  tokens = createTokenService({ db: new Kysely<any>({ dialect: new PostgresDialect({ pool: fresh.newPool() }) }), schema: 'tenantry' })
  const user = await fresh.db
    .insertInto('tenantry.users')
    .values({ email: `u-${randomBytes(4).toString('hex')}@example.com` })
    .returning('id')
    .executeTakeFirstOrThrow()
  userId = user.id
})
afterAll(() => fresh.drop())

describe(`${CONFINE} on an existing install`, () => {
  let token: string
  let sessionId: string

  it('is pending on a 0.1 install, whose functions hold the system switch until the transaction ends', async () => {
    const status = await migrationStatus({ pool: fresh.newPool(), sources: throughConfine })
    expect(status.filter((s) => s.appliedAt === null).map((s) => s.name)).toEqual([CONFINE])
    // issue() calls the same function in 0003 and 0005: a session opened before the upgrade
    ;({ token, sessionId } = await tokens.issue({ userId }))
    const { rows } = await sql<{ on: boolean }>`
      select tenantry.is_system() as on from (select count(*) from tenantry.tokens_list_sessions(${userId}::uuid)) s`.execute(fresh.db)
    expect(rows[0]!.on).toBe(true)
  })

  it('migrates forward: each function puts the system switch back, lookup and rotation by secret', async () => {
    const { error, results } = await migrate({ pool: fresh.newPool(), sources: throughConfine })
    expect(error).toBeUndefined()
    expect(results.map((r) => [r.migrationName, r.status])).toEqual([[CONFINE, 'Success']])
    const functions = await tokenFunctions()
    expect(functions.map((f) => f.signature)).toEqual([
      'tokens_audit(s tenantry.sessions, p_action text, p_outcome text, p_error_code text, p_ip inet, p_user_agent text, p_metadata jsonb)',
      'tokens_find(p_selector text, p_secret_hash bytea)',
      'tokens_issue(p_user_id uuid, p_tenant_id uuid, p_client_id text, p_ip inet, p_user_agent text, p_session_id uuid, p_token_id uuid, p_selector text, p_secret_hash bytea, p_refresh_ms bigint, p_idle_ms bigint, p_max_sessions integer, p_lock_timeout_ms integer)',
      'tokens_list_sessions(p_user_id uuid)',
      'tokens_prune(p_batch_size integer)',
      'tokens_revoke_all(p_user_id uuid, p_except uuid[], p_lock_timeout_ms integer)',
      'tokens_revoke_session(p_session_id uuid, p_reason text, p_ip inet, p_user_agent text, p_lock_timeout_ms integer)',
      'tokens_rotate(p_selector text, p_secret_hash bytea, p_child_id uuid, p_child_selector text, p_child_hash bytea, p_child_kid text, p_idle_ms bigint, p_grace_ms bigint, p_grace_kids text[], p_ip inet, p_user_agent text, p_lock_timeout_ms integer)',
    ])
    for (const f of functions.filter((f) => !f.signature.startsWith('tokens_audit'))) {
      // Not a `set tenantry.system` clause: only a superuser may put a custom setting there.
      expect(f.config ?? [], f.signature).not.toContain('tenantry.system=on')
      expect(f.restores, f.signature).toBe(true)
    }
    const { rows } = await sql<{ on: boolean }>`
      select tenantry.is_system() as on from (select count(*) from tenantry.tokens_list_sessions(${userId}::uuid)) s`.execute(fresh.db)
    expect(rows[0]!.on).toBe(false)
  })

  it('keeps the sessions opened before the upgrade: their tokens rotate, revoke and list', async () => {
    const next = await tokens.rotate(token)
    expect(next.sessionId).toBe(sessionId)
    expect((await tokens.listSessions(userId)).map((s) => s.id)).toEqual([sessionId])
    const session = await fresh.db.selectFrom('tenantry.sessions').select(['generation', 'revoked_at']).where('id', '=', sessionId).executeTakeFirstOrThrow()
    expect(session).toEqual({ generation: 1, revoked_at: null })
    token = next.token
  })

  it('goes down to the 0003 functions, and up again', async () => {
    const down = await migrate({ pool: fresh.newPool(), sources: throughConfine, direction: 'down' })
    expect(down.error).toBeUndefined()
    expect(down.results.map((r) => [r.migrationName, r.direction])).toEqual([[CONFINE, 'Down']])
    const restored = await tokenFunctions()
    expect(restored.map((f) => f.signature)).toContain('tokens_find(p_selector text)')
    expect(restored.map((f) => f.signature)).toContain(
      'tokens_rotate(p_token_id uuid, p_session_id uuid, p_child_id uuid, p_child_selector text, p_child_hash bytea, p_child_kid text, p_idle_ms bigint, p_grace_ms bigint, p_grace_kids text[], p_ip inet, p_user_agent text, p_lock_timeout_ms integer)',
    )
    expect(restored).toHaveLength(8)
    expect(restored.every((f) => f.config === null)).toBe(true)

    const up = await migrate({ pool: fresh.newPool(), sources: throughConfine })
    expect(up.error).toBeUndefined()
    expect((await tokenFunctions()).every((f) => f.signature.startsWith('tokens_audit') || f.restores)).toBe(true)
    const next = await tokens.rotate(token)
    expect(next.sessionId).toBe(sessionId)
    expect(await tokens.revokeSession(sessionId)).toBe(true)
    expect(await tokens.prune()).toBe(1)
  })
})
