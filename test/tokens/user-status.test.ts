import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { insertUser, makeTokens, sessionRow } from './token-fixtures.js'

const fileDb = await useFileDatabase()
const { db, pool } = fileDb

describe('who a token belongs to', () => {
  it("returns the session's user and tenant from issue, rotate and a grace retry", async () => {
    const { tokens } = makeTokens(pool, { keys: { k1: 'k'.repeat(32) } })
    const userId = await insertUser(db)
    const { rows } = await sql<{ id: string }>`insert into tenantry.tenants (slug, name) values ('owner-check', 'Owner') returning id`.execute(db)
    const tenantId = rows[0]!.id
    const issued = await tokens.issue({ userId, tenantId })
    expect(issued).toMatchObject({ userId, tenantId })
    const rotated = await tokens.rotate(issued.token)
    expect(rotated).toMatchObject({ userId, tenantId, sessionId: issued.sessionId })
    const retried = await tokens.rotate(issued.token)
    expect(retried).toMatchObject({ userId, tenantId, token: rotated.token })
    const session = await sessionRow(db, issued.sessionId)
    expect(session).toMatchObject({ user_id: userId, tenant_id: tenantId })
  })
})

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
