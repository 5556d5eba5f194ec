import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { insertUser, makeTokens, sessionRow } from './token-fixtures.js'

const fileDb = await useFileDatabase()
const { db, pool } = fileDb

describe('user status', () => {
  it('refuses to open a session for a user who is not active', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    await sql`update tenantry.users set status = 'suspended' where id = ${userId}`.execute(db)
    await expect(tokens.issue({ userId })).rejects.toMatchObject({ code: 'FORBIDDEN' })
    const { rows } = await sql<{ n: string }>`select count(*) as n from tenantry.sessions where user_id = ${userId}`.execute(db)
    expect(rows[0]!.n).toBe('0')
  })

  it('revokes the family at the next refresh once the user is suspended, and audits it', async () => {
    const { tokens } = makeTokens(pool)
    const userId = await insertUser(db)
    const { token, sessionId } = await tokens.issue({ userId })
    await sql`update tenantry.users set status = 'disabled' where id = ${userId}`.execute(db)
    await expect(tokens.rotate(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    const session = await sessionRow(db, sessionId)
    expect(session).toMatchObject({ revoked_reason: 'user_inactive' })
    const { rows } = await sql<{ metadata: { reason: string } }>`select metadata from tenantry.audit_logs
      where resource_id = ${sessionId} and action = 'tokens.revoke'`.execute(db)
    expect(rows.map((r) => r.metadata.reason)).toEqual(['user_inactive'])
  })
})
