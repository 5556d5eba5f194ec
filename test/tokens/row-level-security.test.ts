import { readFile } from 'node:fs/promises'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { renderMigrationSql } from '../../src/migration/sql-migration-provider.js'
import { useFileDatabase } from '../support/test-database.js'
import { failure, insertUser, makeTokens, sessionRow } from './token-fixtures.js'

const fileDb = await useFileDatabase()
const { db, url } = fileDb

const TABLES = ['users', 'tenants', 'audit_logs', 'sessions', 'refresh_tokens']

/** A pool that logs in as an ordinary role: superusers are never subject to row-level security. */
async function appRolePool(): Promise<pg.Pool> {
  await sql`do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'tokens_app') then create role tokens_app login password 'tokens_app'; end if;
    end $$`.execute(db)
  await sql
    .raw(`grant usage on schema tenantry to tokens_app;
    grant select, insert, update, delete on all tables in schema tenantry to tokens_app;
    grant execute on all functions in schema tenantry to tokens_app;`)
    .execute(db)
  const appUrl = new URL(url)
  appUrl.username = 'tokens_app'
  appUrl.password = 'tokens_app'
  return new pg.Pool({ connectionString: appUrl.toString(), max: 4 })
}

describe('with row-level security enabled and forced', async () => {
  await sql`select tenantry.install_bundled_policies()`.execute(db)
  for (const table of TABLES) await sql`select tenantry.enable_row_level_security(${`tenantry.${table}`}::regclass)`.execute(db)
  const appPool = await appRolePool()
  afterAll(() => appPool.end())

  it('runs every token operation as system, and nothing leaks outside it', async () => {
    const { tokens } = makeTokens(appPool, { maxSessionsPerUser: 1, keys: { k1: 'x'.repeat(32) } })
    const userId = await insertUser(db)
    const first = await tokens.issue({ userId })
    const second = await tokens.issue({ userId })
    const next = await tokens.rotate(second.token)
    expect(await tokens.rotate(second.token)).toEqual(next)
    expect((await tokens.listSessions(userId)).map((s) => s.id)).toEqual([second.sessionId])
    expect(await sessionRow(db, first.sessionId)).toMatchObject({ revoked_reason: 'evicted' })

    // the setting was transaction-local: a plain query on the same pool sees no session at all
    const { rows } = await appPool.query('select count(*)::int as n from tenantry.sessions')
    expect(rows[0].n).toBe(0)
    const { rows: asOwner } = await sql<{ n: number }>`select count(*)::int as n from tenantry.sessions`.execute(db)
    expect(asOwner[0]!.n).toBe(2)

    expect(await tokens.revokeAllForUser(userId)).toBe(1)
    expect(await tokens.prune()).toBe(2)
    expect(await failure(tokens.rotate(next.token))).toMatchObject({ code: 'TOKEN_INVALID' })
  })
})

describe('migration 0003', () => {
  it('goes down and up again cleanly (0005, which confines its functions, undone first)', async () => {
    const read = (name: string, direction: string) =>
      readFile(new URL(`../../migrations/${name}.${direction}.sql`, import.meta.url), 'utf8').then((text) => renderMigrationSql(text, 'tenantry'))
    const down = await read('0003_sessions_and_refresh_tokens', 'down')
    const up = await read('0003_sessions_and_refresh_tokens', 'up')
    const confineDown = await read('0005_confine_token_functions', 'down')
    const confineUp = await read('0005_confine_token_functions', 'up')
    await sql.raw(`begin; ${confineDown}; ${down}; ${up}; commit;`).execute(db)
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'tenantry' and p.proname like 'tokens\\_%'`.execute(db)
    expect(rows[0]!.n).toBe(8)
    await sql.raw(`begin; ${down}; commit;`).execute(db)
    const { rows: tables } = await sql<{ t: string | null }>`select to_regclass('tenantry.sessions')::text as t`.execute(db)
    expect(tables[0]!.t).toBeNull()
    await sql.raw(`begin; ${up}; ${confineUp}; commit;`).execute(db)
  })
})
