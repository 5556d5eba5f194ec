import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { auditRows, insertMembership, insertRole, insertUser, insertUserRole } from './rbac-fixtures.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let alice: string
let editorA: string
let adminB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'rbac-a')
  tenantB = await insertTenant(fileDb.db, 'rbac-b')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
  alice = await insertUser(fileDb.db)
  await insertMembership(fileDb.db, tenantA, alice)
  await insertMembership(fileDb.db, tenantB, alice)
  editorA = await insertRole(fileDb.db, tenantA, ['projects:*'])
  adminB = await insertRole(fileDb.db, tenantB, ['*:*'])
  await insertUserRole(fileDb.db, tenantA, alice, editorA)
  await insertUserRole(fileDb.db, tenantB, alice, adminB)
})

const as = (tenantId: string, actorId: string | null) => tenantry.withContext({ tenantId, actorId })

describe('scope.can', () => {
  it("grants what the actor's roles in this tenant grant, with wildcards", async () => {
    const scope = as(tenantA, alice)
    expect(await scope.can('projects:write')).toBe(true)
    expect(await scope.can('projects:*')).toBe(true)
    expect(await scope.can('devices:read')).toBe(false)
    expect(await as(tenantB, alice).can('devices:read')).toBe(true)
  })

  it('gives nothing in tenant A for a role of tenant B, even through a user_roles row of A', async () => {
    const bob = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, bob)
    // plain SQL can link a member of A to a role of B; the check must still ignore it
    await insertUserRole(fileDb.db, tenantA, bob, adminB)
    expect(await as(tenantA, bob).can('devices:read')).toBe(false)
    expect(await as(tenantA, bob).can('*:*')).toBe(false)
  })

  it('applies a system role in each tenant where it is assigned, and only there', async () => {
    const auditor = await insertRole(fileDb.db, null, ['*:read'])
    const carol = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, carol)
    await insertMembership(fileDb.db, tenantB, carol)
    await insertUserRole(fileDb.db, tenantA, carol, auditor)
    expect(await as(tenantA, carol).can('invoices:read')).toBe(true)
    expect(await as(tenantA, carol).can('invoices:write')).toBe(false)
    expect(await as(tenantB, carol).can('invoices:read')).toBe(false)
  })

  it('requires an active, live membership, a live role and an enabled user', async () => {
    const suspended = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, suspended, 'suspended')
    await insertUserRole(fileDb.db, tenantA, suspended, editorA)

    const left = await insertUser(fileDb.db)
    const membership = await insertMembership(fileDb.db, tenantA, left)
    await insertUserRole(fileDb.db, tenantA, left, editorA)
    await fileDb.db.updateTable('tenantry.memberships').set({ deleted_at: sql`now()` }).where('id', '=', membership).execute()

    const disabled = await insertUser(fileDb.db, 'disabled')
    await insertMembership(fileDb.db, tenantA, disabled)
    await insertUserRole(fileDb.db, tenantA, disabled, editorA)

    const deletedRoleHolder = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, deletedRoleHolder)
    const deletedRole = await insertRole(fileDb.db, tenantA, ['*:*'])
    await insertUserRole(fileDb.db, tenantA, deletedRoleHolder, deletedRole)
    await fileDb.db.updateTable('tenantry.roles').set({ deleted_at: sql`now()` }).where('id', '=', deletedRole).execute()

    const outsider = await insertUser(fileDb.db)
    await insertUserRole(fileDb.db, tenantA, outsider, editorA)

    for (const user of [suspended, left, disabled, deletedRoleHolder, outsider]) {
      expect(await as(tenantA, user).can('projects:read')).toBe(false)
    }
  })

  it('is false without an actor and in a system scope, without any SQL', async () => {
    expect(await fileDb.roundTrips.measure(async () => expect(await as(tenantA, null).can('projects:read')).toBe(false))).toBe(0)
    const system = tenantry.asSystem({ actorId: alice, reason: 'test' })
    expect(await fileDb.roundTrips.measure(async () => expect(await system.can('projects:read')).toBe(false))).toBe(0)
  })

  it('refuses a malformed permission with VALIDATION before any SQL', async () => {
    const scope = as(tenantA, alice)
    const trips = await fileDb.roundTrips.measure(async () => {
      const error = await scope.can('Projects:Read').catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    })
    expect(trips).toBe(0)
  })
})

describe('permission cache', () => {
  it('costs one round trip for the first check of a scope and none for the next ones', async () => {
    const scope = as(tenantA, alice)
    expect(await fileDb.roundTrips.measure(() => scope.can('projects:read'))).toBe(1)
    const cached = await fileDb.roundTrips.measure(async () => {
      expect(await scope.can('projects:write')).toBe(true)
      expect(await scope.can('devices:read')).toBe(false)
      await scope.require('projects:delete')
    })
    expect(cached).toBe(0)
  })

  it("shares one query among concurrent first checks, and with the scope's transactions", async () => {
    const scope = as(tenantA, alice)
    expect(await fileDb.roundTrips.measure(() => Promise.all([scope.can('projects:read'), scope.can('a:b'), scope.can('c:d')]))).toBe(1)
    // BEGIN and COMMIT only: the grants come from the scope's cache
    expect(await fileDb.roundTrips.measure(() => scope.transaction((tx) => tx.can('projects:read')))).toBe(2)
  })

  it('sees role changes made through the same scope at once', async () => {
    const dave = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, dave)
    const role = await insertRole(fileDb.db, tenantA, ['reports:read'])
    const admin = as(tenantA, alice)
    const scope = as(tenantA, dave)
    expect(await scope.can('reports:read')).toBe(false)

    // the same scope assigns: its cache is forgotten
    await scope.roles.assign(dave, role)
    expect(await scope.can('reports:read')).toBe(true)
    await scope.roles.setPermissions(role, ['reports:export'])
    expect(await scope.can('reports:read')).toBe(false)
    expect(await scope.can('reports:export')).toBe(true)

    // another scope's change is not seen by this request's cache, only by the next scope
    await admin.roles.unassign(dave, role)
    expect(await scope.can('reports:export')).toBe(true)
    expect(await as(tenantA, dave).can('reports:export')).toBe(false)

    await scope.userRoles.create({ user_id: dave, role_id: role })
    expect(await scope.can('reports:export')).toBe(true)
    await scope.memberships.updateMany({ user_id: dave }, { status: 'suspended' })
    expect(await scope.can('reports:export')).toBe(false)
  })

  it('forgets grants read inside a transaction that rolled back', async () => {
    const erin = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, erin)
    const role = await insertRole(fileDb.db, tenantA, ['billing:read'])
    const scope = as(tenantA, erin)
    await scope
      .transaction(async (tx) => {
        await tx.roles.assign(erin, role)
        expect(await tx.can('billing:read')).toBe(true)
        throw new Error('roll back')
      })
      .catch(() => undefined)
    expect(await scope.can('billing:read')).toBe(false)
    expect(await fileDb.db.selectFrom('tenantry.user_roles').select('id').where('user_id', '=', erin).execute()).toEqual([])
  })
})

describe('scope.require', () => {
  it('passes silently when granted, writing nothing', async () => {
    const before = (await auditRows(fileDb.db, 'rbac.require')).length
    await as(tenantA, alice).require('projects:read')
    expect(await auditRows(fileDb.db, 'rbac.require')).toHaveLength(before)
  })

  it('throws FORBIDDEN naming the permission, not the user, and leaves a denied audit row', async () => {
    const scope = tenantry.withContext({ tenantId: tenantA, actorId: alice, requestId: 'req-42' })
    const error = await scope.require('billing:export').catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    expect((error as Error).message).toContain('billing:export')
    expect((error as Error).message).not.toContain(alice)
    const rows = (await auditRows(fileDb.db, 'rbac.require')).filter((r) => r.request_id === 'req-42')
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      tenant_id: tenantA,
      actor_user_id: alice,
      outcome: 'denied',
      error_code: 'FORBIDDEN',
      resource_type: 'permission',
      resource_id: 'billing:export',
      metadata: { permission: 'billing:export' },
    })
  })

  it('keeps the denied row when the refusal rolls a transaction back', async () => {
    const scope = tenantry.withContext({ tenantId: tenantA, actorId: alice, requestId: 'req-tx' })
    const error = await scope
      .transaction(async (tx) => {
        await tx.repo('notes').create({ body: 'should vanish' })
        await tx.require('notes:purge')
      })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    const rows = (await auditRows(fileDb.db, 'rbac.require')).filter((r) => r.request_id === 'req-tx')
    expect(rows.map((r) => r.outcome)).toEqual(['denied'])
    expect(await fileDb.db.selectFrom('notes').select('id').where('body', '=', 'should vanish').execute()).toEqual([])
  })
})
