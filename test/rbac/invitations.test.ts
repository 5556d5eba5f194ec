import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { auditRows, insertMembership, insertRole, insertUser } from './rbac-fixtures.js'

const fileDb = await useFileDatabase({ poolSize: 12 })
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let inviter: string
let editor: string
let systemViewer: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'inv-a')
  tenantB = await insertTenant(fileDb.db, 'inv-b')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
  inviter = await insertUser(fileDb.db)
  await insertMembership(fileDb.db, tenantA, inviter)
  editor = await insertRole(fileDb.db, tenantA, ['projects:*'])
  systemViewer = await insertRole(fileDb.db, null, ['*:read'])
})

const adminOf = (tenantId: string) => tenantry.withContext({ tenantId, actorId: inviter })
const system = () => tenantry.asSystem({ reason: 'accept invitation' })
const invitationRow = (id: string) => fileDb.db.selectFrom('tenantry.invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const membershipsOf = (userId: string) => fileDb.db.selectFrom('tenantry.memberships').selectAll().where('user_id', '=', userId).execute()
const rolesOf = (userId: string) =>
  fileDb.db.selectFrom('tenantry.user_roles').select(['tenant_id', 'role_id']).where('user_id', '=', userId).orderBy('role_id').execute()

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(isTenantryError(error)).toBe(true)
  return (error as { code: string }).code
}

describe('invite', () => {
  it('returns an inv_ token once and stores only its selector and the SHA-256 of its secret', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'ada@example.com', roles: [editor, systemViewer] })
    expect(token).toMatch(/^inv_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
    expect(invitation).toMatchObject({ tenant_id: tenantA, email: 'ada@example.com', invited_by: inviter, status: 'pending', accepted_at: null })
    expect(invitation).not.toHaveProperty('secret_hash')
    expect(invitation).not.toHaveProperty('selector')
    const row = await invitationRow(invitation.id)
    const [selector, secret] = token.slice(4).split('.') as [string, string]
    expect(row.selector).toBe(selector)
    expect(Buffer.compare(row.secret_hash, createHash('sha256').update(Buffer.from(secret, 'base64url')).digest())).toBe(0)
    expect(JSON.stringify(row)).not.toContain(secret)
    expect([...row.role_ids].sort()).toEqual([editor, systemViewer].sort())
    // expiry from the database clock: 7 days by default
    const { db_now } = (await sql<{ db_now: Date }>`select now() as db_now`.execute(fileDb.db)).rows[0]!
    expect(Math.abs(row.expires_at.getTime() - db_now.getTime() - 7 * 86_400_000)).toBeLessThan(60_000)
    const [audit] = (await auditRows(fileDb.db, 'invitations.create')).filter((r) => r.resource_id === invitation.id)
    expect(audit).toMatchObject({ tenant_id: tenantA, actor_user_id: inviter, outcome: 'success' })
    expect(audit!.new_values).not.toHaveProperty('secret_hash')
    expect(audit!.new_values).not.toHaveProperty('selector')
  })

  it('refuses roles of another tenant, a bad email and a bad expiry, storing nothing', async () => {
    const roleOfB = await insertRole(fileDb.db, tenantB, ['*:*'])
    const scope = adminOf(tenantA)
    expect(await codeOf(scope.invitations.invite({ email: 'eve@example.com', roles: [roleOfB] }))).toBe('NOT_FOUND')
    expect(await codeOf(scope.invitations.invite({ email: 'not-an-email' }))).toBe('VALIDATION')
    expect(await codeOf(scope.invitations.invite({ email: 'eve@example.com', expiresIn: '2s' }))).toBe('VALIDATION')
    expect(await codeOf(scope.invitations.invite({ email: 'eve@example.com', expiresIn: '400d' }))).toBe('VALIDATION')
    expect(await fileDb.db.selectFrom('tenantry.invitations').select('id').where('email', '=', 'eve@example.com').execute()).toEqual([])
    const denied = (await auditRows(fileDb.db, 'invitations.create')).filter((r) => r.outcome === 'denied')
    expect(denied).toHaveLength(1)
  })
})

describe('accept', () => {
  it('creates the membership and the roles atomically, marks the invitation used, and audits each change', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'ada@example.com', roles: [editor, systemViewer] })
    const ada = await insertUser(fileDb.db)
    const result = await system().invitations.accept(token, { userId: ada })
    expect(result.invitation).toMatchObject({ id: invitation.id, status: 'accepted', accepted_by: ada })
    expect(result.assignedRoleIds.sort()).toEqual([editor, systemViewer].sort())
    expect(result.membershipActivated).toBe(true)

    const memberships = await membershipsOf(ada)
    expect(memberships).toHaveLength(1)
    expect(memberships[0]).toMatchObject({ tenant_id: tenantA, status: 'active' })
    expect(await rolesOf(ada)).toEqual([editor, systemViewer].sort().map((role_id) => ({ tenant_id: tenantA, role_id })))
    const row = await invitationRow(invitation.id)
    expect(row.accepted_by).toBe(ada)
    expect(row.accepted_at).toBeInstanceOf(Date)

    const actions = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['action', 'actor_user_id', 'tenant_id'])
      .where('actor_user_id', '=', ada)
      .orderBy('action')
      .execute()
    expect(actions.map((a) => a.action)).toEqual(['invitations.accept', 'memberships.create', 'roles.assign', 'roles.assign'])
    expect(actions.every((a) => a.tenant_id === tenantA)).toBe(true)
    expect(await tenantry.withContext({ tenantId: tenantA, actorId: ada }).can('projects:write')).toBe(true)
  })

  it('activates an invited membership and keeps roles already held', async () => {
    const { token } = await adminOf(tenantA).invitations.invite({ email: 'bo@example.com', roles: [editor] })
    const bo = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, bo, 'invited')
    const result = await adminOf(tenantA).invitations.accept(token, { userId: bo })
    expect(result.membershipActivated).toBe(true)
    expect((await membershipsOf(bo)).map((m) => m.status)).toEqual(['active'])
    expect(await rolesOf(bo)).toEqual([{ tenant_id: tenantA, role_id: editor }])
  })

  it('refuses a wrong secret with TOKEN_INVALID and changes nothing; the right one still works', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'cy@example.com', roles: [editor] })
    const cy = await insertUser(fileDb.db)
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBA' : 'AAAA')
    expect(await codeOf(system().invitations.accept(forged, { userId: cy }))).toBe('TOKEN_INVALID')
    for (const garbage of ['', 'inv_x.y', token.replace('inv_', 'rt_'), `${token}x`]) {
      expect(await codeOf(system().invitations.accept(garbage, { userId: cy }))).toBe('TOKEN_INVALID')
    }
    expect(await invitationRow(invitation.id)).toMatchObject({ accepted_at: null, revoked_at: null })
    expect(await membershipsOf(cy)).toEqual([])
    const [denied] = (await auditRows(fileDb.db, 'invitations.accept')).filter((r) => r.resource_id === invitation.id)
    expect(denied).toMatchObject({ outcome: 'denied', error_code: 'TOKEN_INVALID', tenant_id: tenantA })
    await system().invitations.accept(token, { userId: cy })
    expect(await membershipsOf(cy)).toHaveLength(1)
  })

  it('refuses a replay with TOKEN_REVOKED, for the same or another user', async () => {
    const { token } = await adminOf(tenantA).invitations.invite({ email: 'di@example.com', roles: [editor] })
    const di = await insertUser(fileDb.db)
    const mallory = await insertUser(fileDb.db)
    await system().invitations.accept(token, { userId: di })
    expect(await codeOf(system().invitations.accept(token, { userId: di }))).toBe('TOKEN_REVOKED')
    expect(await codeOf(system().invitations.accept(token, { userId: mallory }))).toBe('TOKEN_REVOKED')
    expect(await membershipsOf(mallory)).toEqual([])
    expect(await membershipsOf(di)).toHaveLength(1)
  })

  it('refuses an expired invitation with TOKEN_EXPIRED, by the database clock', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'ed@example.com', expiresIn: '1m' })
    await fileDb.db
      .updateTable('tenantry.invitations')
      .set({ created_at: sql`now() - interval '2 hours'`, expires_at: sql`now() - interval '1 hour'` })
      .where('id', '=', invitation.id)
      .execute()
    const ed = await insertUser(fileDb.db)
    expect(await codeOf(system().invitations.accept(token, { userId: ed }))).toBe('TOKEN_EXPIRED')
    expect(await membershipsOf(ed)).toEqual([])
    expect((await adminOf(tenantA).invitations.list({ status: 'expired' })).map((i) => i.id)).toContain(invitation.id)
  })

  it('refuses a revoked invitation with TOKEN_REVOKED; revoke is audited and idempotent', async () => {
    const scope = adminOf(tenantA)
    const { token, invitation } = await scope.invitations.invite({ email: 'fay@example.com', roles: [editor] })
    const revoked = await scope.invitations.revoke(invitation.id)
    expect(revoked.status).toBe('revoked')
    expect((await scope.invitations.revoke(invitation.id)).revoked_at).toEqual(revoked.revoked_at)
    expect((await invitationRow(invitation.id)).revoked_at).toBeInstanceOf(Date)
    expect((await auditRows(fileDb.db, 'invitations.revoke')).filter((r) => r.resource_id === invitation.id)).toHaveLength(1)
    const fay = await insertUser(fileDb.db)
    expect(await codeOf(system().invitations.accept(token, { userId: fay }))).toBe('TOKEN_REVOKED')
    expect(await membershipsOf(fay)).toEqual([])
  })

  it("cannot revoke another tenant's invitation or an accepted one", async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'gus@example.com' })
    expect(await codeOf(adminOf(tenantB).invitations.revoke(invitation.id))).toBe('NOT_FOUND')
    expect((await invitationRow(invitation.id)).revoked_at).toBeNull()
    await system().invitations.accept(token, { userId: await insertUser(fileDb.db) })
    expect(await codeOf(adminOf(tenantA).invitations.revoke(invitation.id))).toBe('CONFLICT')
  })

  it("reads another tenant's token as unknown in a tenant scope", async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'hal@example.com' })
    const hal = await insertUser(fileDb.db)
    expect(await codeOf(tenantry.withContext({ tenantId: tenantB }).invitations.accept(token, { userId: hal }))).toBe('TOKEN_INVALID')
    expect((await invitationRow(invitation.id)).accepted_at).toBeNull()
    expect(await membershipsOf(hal)).toEqual([])
  })

  it('gives exactly one membership when one token is accepted concurrently', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'ivy@example.com', roles: [editor] })
    const users = await Promise.all(Array.from({ length: 6 }, () => insertUser(fileDb.db)))
    const outcomes = await Promise.allSettled(users.map((userId) => system().invitations.accept(token, { userId })))
    const accepted = outcomes.filter((o) => o.status === 'fulfilled')
    expect(accepted).toHaveLength(1)
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as { code: string }).code).toBe('TOKEN_REVOKED')
    const memberships = await fileDb.db.selectFrom('tenantry.memberships').select('user_id').where('user_id', 'in', users).execute()
    expect(memberships).toHaveLength(1)
    const assigned = await fileDb.db.selectFrom('tenantry.user_roles').select('user_id').where('user_id', 'in', users).execute()
    expect(assigned).toEqual(memberships)
    expect((await invitationRow(invitation.id)).accepted_by).toBe(memberships[0]!.user_id)
  })

  it('refuses a suspended member with CONFLICT and leaves the invitation usable', async () => {
    const { token, invitation } = await adminOf(tenantA).invitations.invite({ email: 'jo@example.com', roles: [editor] })
    const jo = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, jo, 'suspended')
    expect(await codeOf(system().invitations.accept(token, { userId: jo }))).toBe('CONFLICT')
    expect((await invitationRow(invitation.id)).accepted_at).toBeNull()
    expect(await rolesOf(jo)).toEqual([])
  })
})

describe('list', () => {
  it("lists the tenant's invitations with their status, never a token or hash", async () => {
    const tenant = await insertTenant(fileDb.db, 'inv-list')
    const scope = tenantry.withContext({ tenantId: tenant })
    const pending = await scope.invitations.invite({ email: 'k@example.com' })
    const revoked = await scope.invitations.invite({ email: 'l@example.com' })
    await scope.invitations.revoke(revoked.invitation.id)
    const all = await scope.invitations.list()
    expect(all.map((i) => [i.email, i.status])).toEqual([
      ['l@example.com', 'revoked'],
      ['k@example.com', 'pending'],
    ])
    expect(JSON.stringify(all)).not.toContain(pending.token.slice(4, 26))
    expect((await scope.invitations.list({ status: 'pending' })).map((i) => i.id)).toEqual([pending.invitation.id])
    expect((await scope.invitations.list({ email: 'K@example.com' })).map((i) => i.id)).toEqual([pending.invitation.id])
    expect(await adminOf(tenantB).invitations.list({ email: 'k@example.com' })).toEqual([])
  })
})

describe('round trips', () => {
  it('invite and revoke take one round trip; accept four (BEGIN, lock, one write statement, COMMIT)', async () => {
    const scope = adminOf(tenantA)
    let token = ''
    let id = ''
    expect(
      await fileDb.roundTrips.measure(async () => {
        ;({
          token,
          invitation: { id },
        } = await scope.invitations.invite({ email: 'rt@example.com', roles: [editor] }))
      }),
    ).toBe(1)
    const user = await insertUser(fileDb.db)
    expect(await fileDb.roundTrips.measure(() => system().invitations.accept(token, { userId: user }))).toBe(4)
    const other = await scope.invitations.invite({ email: 'rt2@example.com' })
    expect(await fileDb.roundTrips.measure(() => scope.invitations.revoke(other.invitation.id))).toBe(1)
    expect(id).not.toBe('')
  })
})
