import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import type pg from 'pg'
import type { AuditEvent } from '../../src/runtime/audit-event.js'
import { createTokenService, type TokenConfig, type TokenService } from '../../src/tokens/index.js'

export const KEY_1 = 'k1-0123456789abcdef0123456789abcdef'
export const KEY_2 = 'k2-fedcba9876543210fedcba9876543210'

/** A Kysely over the counted pool, as the host would hand it to tenantry. */
export function hostDb(pool: pg.Pool): Kysely<any> {
  // Not destroyed: that would end the shared pool, which the file database closes itself.
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
}

export interface ServiceUnderTest {
  tokens: TokenService
  events: AuditEvent[]
}

export function makeTokens(pool: pg.Pool, config: TokenConfig = { keys: { k1: KEY_1 } }): ServiceUnderTest {
  const events: AuditEvent[] = []
  const tokens = createTokenService({ db: hostDb(pool), schema: 'tenantry', config, onCommitted: (e) => void events.push(...e) })
  return { tokens, events }
}

export async function insertUser(db: Kysely<any>): Promise<string> {
  const email = `u-${randomBytes(5).toString('hex')}@example.com`
  const row = await db.insertInto('tenantry.users').values({ email }).returning('id').executeTakeFirstOrThrow()
  return row.id as string
}

export function selectorOf(token: string): string {
  return token.slice(3, token.indexOf('.'))
}

export async function sessionRow(db: Kysely<any>, sessionId: string) {
  return db.selectFrom('tenantry.sessions').selectAll().where('id', '=', sessionId).executeTakeFirst()
}

export async function tokenRows(db: Kysely<any>, sessionId: string) {
  return db.selectFrom('tenantry.refresh_tokens').selectAll().where('session_id', '=', sessionId).orderBy('generation').execute()
}

export async function liveSessionCount(db: Kysely<any>, userId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from tenantry.sessions
     where user_id = ${userId} and revoked_at is null and idle_expires_at > clock_timestamp()`.execute(db)
  return rows[0]!.n
}

export async function auditRows(db: Kysely<any>, sessionId: string) {
  return db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', sessionId).orderBy('created_at').execute()
}

/** Catches a rejection and returns the error, for `expect(...).toMatchObject({ code })`. */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the call to fail')
}
