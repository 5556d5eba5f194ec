import { sql } from 'kysely'
import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { auditRows, insertMembership, insertRole, insertUser } from './rbac-fixtures.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let admin: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'roles-a')
  tenantB = await insertTenant(fileDb.db, 'roles-b')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
  admin = await insertUser(fileDb.db)
})

const scopeOf = (tenantId: string) => tenantry.withContext({ tenantId, actorId: admin })
const roleRow = (id: string) => fileDb.db.selectFrom('tenantry.roles').selectAll().where('id', '=', id).executeTakeFirst()

describe('scope.roles', () => {
  it("creates a validated role in the scope's tenant with an audit row in the same statement", async () => {
    const scope = scopeOf(tenantA)
    let role!: { id: string }
    expect(
      await fileDb.roundTrips.measure(async () => {
        role = await scope.roles.create({ name: '  editor ', permissions: ['projects:*', '*:read', 'projects:*'], description: 'Edits' })
      }),
    ).toBe(1)
    expect(await roleRow(role.id)).toMatchObject({ tenant_id: tenantA, name: 'editor', permissions: ['projects:*', '*:read'], description: 'Edits' })
    const [audit] = (await auditRows(fileDb.db, 'roles.create')).filter((r) => r.resource_id === role.id)
    expect(audit).toMatchObject({ tenant_id: tenantA, actor_user_id: admin, resource_type: 'roles', outcome: 'success' })
    expect(audit!.new_values.permissions).toEqual(['projects:*', '*:read'])
  })

  it('refuses malformed permissions and bad names before any SQL', async () => {
    const scope = scopeOf(tenantA)
    const trips = await fileDb.roundTrips.measure(async () => {
      for (const input of [
        { name: 'x', permissions: ['Projects:read'] },
        { name: 'x', permissions: ['projects'] },
        { name: ' ', permissions: [] },
        { name: 'x', extra: 1 },
      ]) {
        const error = await scope.roles.create(input as never).catch((e: unknown) => e)
        expect(isTenantryError(error, 'VALIDATION')).toBe(true)
      }
      const created = await scope.roles.create({ name: 'ok-role' }).catch((e: unknown) => e)
      const error = await scope.roles.setPermissions((created as { id: string }).id, ['nope']).catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    })
    expect(trips).toBe(1) // only the valid create
    expect(await fileDb.db.selectFrom('tenantry.roles').select('id').where('name', '=', 'x').execute()).toEqual([])
  })

  it('renames and sets permissions, audited with old and new values', async () => {
    const scope = scopeOf(tenantA)
    const role = await scope.roles.create({ name: 'ops', permissions: ['jobs:read'] })
    await scope.roles.rename(role.id, 'operators')
    await scope.roles.setPermissions(role.id, ['jobs:*'])
    expect(await roleRow(role.id)).toMatchObject({ name: 'operators', permissions: ['jobs:*'] })
    const updates = (await auditRows(fileDb.db, 'roles.update')).filter((r) => r.resource_id === role.id)
    expect(updates.map((r) => r.changed_fields)).toEqual([['name'], ['permissions']])
    expect(updates[1]).toMatchObject({ old_values: { permissions: ['jobs:read'] }, new_values: { permissions: ['jobs:*'] } })
  })

  it('keeps the repository API, scoped to the tenant, and refuses a duplicate name', async () => {
    const scope = scopeOf(tenantB)
    const role = await scope.roles.create({ name: 'Viewer', permissions: ['*:read'] })
    expect(await scope.roles.findById(role.id)).toMatchObject({ name: 'Viewer' })
    expect(await scopeOf(tenantA).roles.findById(role.id)).toBeNull()
    const error = await scope.roles.create({ name: 'viewer' }).catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    // tenant A cannot rename B's role: NOT_FOUND, audited as denied, row unchanged
    const foreign = await scopeOf(tenantA)
      .roles.rename(role.id, 'hijacked')
      .catch((e: unknown) => e)
    expect(isTenantryError(foreign, 'NOT_FOUND')).toBe(true)
    expect(await roleRow(role.id)).toMatchObject({ name: 'Viewer' })
    await scope.roles.softDelete(role.id)
    expect(await scope.roles.findById(role.id)).toBeNull()
    expect(await scope.roles.withDeleted().findById(role.id)).toMatchObject({ name: 'Viewer' })
  })

  it('makes system roles only through asSystem, and lists them as assignable everywhere', async () => {
    const system = tenantry.asSystem({ actorId: admin, reason: 'bootstrap roles' })
    const auditor = await system.roles.create({ name: `auditor-${randomUUID()}`, permissions: ['*:read'] })
    expect(await roleRow(auditor.id)).toMatchObject({ tenant_id: null })
    const [audit] = (await auditRows(fileDb.db, 'roles.create')).filter((r) => r.resource_id === auditor.id)
    expect(audit).toMatchObject({ tenant_id: null, metadata: { system: true, reason: 'bootstrap roles' } })
    const assignable = await scopeOf(tenantA).roles.assignable()
    expect(assignable.map((r) => r.id)).toContain(auditor.id)
    expect(assignable.every((r) => r.tenant_id === null || r.tenant_id === tenantA)).toBe(true)
    // a tenant scope cannot change a system role
    const error = await scopeOf(tenantA)
      .roles.setPermissions(auditor.id, ['*:*'])
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'NOT_FOUND')).toBe(true)
    expect(await roleRow(auditor.id)).toMatchObject({ permissions: ['*:read'] })
  })
})

describe('assign and unassign', () => {
  it('assigns a role to a member, idempotently, audited once', async () => {
    const scope = scopeOf(tenantA)
    const member = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, member)
    const role = await insertRole(fileDb.db, tenantA, ['x:read'])
    let first!: { id: string }
    expect(
      await fileDb.roundTrips.measure(async () => {
        first = await scope.roles.assign(member, role)
      }),
    ).toBe(1)
    const again = await scope.roles.assign(member, role)
    expect(again.id).toBe(first.id)
    const rows = await fileDb.db.selectFrom('tenantry.user_roles').selectAll().where('user_id', '=', member).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ tenant_id: tenantA, role_id: role })
    const audits = (await auditRows(fileDb.db, 'roles.assign')).filter((r) => r.resource_id === first.id)
    expect(audits).toHaveLength(1)
    expect(audits[0]).toMatchObject({ tenant_id: tenantA, actor_user_id: admin, resource_type: 'user_roles', outcome: 'success' })

    expect(await scope.roles.unassign(member, role)).toBe(true)
    expect(await scope.roles.unassign(member, role)).toBe(false)
    expect(await fileDb.db.selectFrom('tenantry.user_roles').select('id').where('user_id', '=', member).execute()).toEqual([])
    const removed = (await auditRows(fileDb.db, 'roles.unassign')).filter((r) => r.resource_id === first.id)
    expect(removed).toHaveLength(1)
    expect(removed[0]!.old_values).toMatchObject({ user_id: member, role_id: role })
  })

  it('assigns a system role in a tenant', async () => {
    const member = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, member)
    const systemRole = await insertRole(fileDb.db, null, ['*:read'])
    await scopeOf(tenantA).roles.assign(member, systemRole)
    expect(await tenantry.withContext({ tenantId: tenantA, actorId: member }).can('anything:read')).toBe(true)
  })

  it("refuses a non-member, another tenant's role, and a deleted role, writing nothing but the audit row", async () => {
    const scope = scopeOf(tenantA)
    const outsider = await insertUser(fileDb.db)
    const member = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantA, member)
    const roleA = await insertRole(fileDb.db, tenantA, ['x:read'])
    const roleB = await insertRole(fileDb.db, tenantB, ['*:*'])
    const deleted = await insertRole(fileDb.db, tenantA, ['*:*'])
    await fileDb.db.updateTable('tenantry.roles').set({ deleted_at: sql`now()` }).where('id', '=', deleted).execute()

    const refusalsBefore = (await auditRows(fileDb.db, 'roles.assign')).filter((r) => r.outcome !== 'success').map((r) => r.id)
    const notMember = await scope.roles.assign(outsider, roleA).catch((e: unknown) => e)
    expect(isTenantryError(notMember, 'NOT_FOUND')).toBe(true)
    for (const role of [roleB, deleted]) {
      const error = await scope.roles.assign(member, role).catch((e: unknown) => e)
      expect(isTenantryError(error, 'NOT_FOUND')).toBe(true)
    }
    const written = await fileDb.db.selectFrom('tenantry.user_roles').select('id').where('user_id', 'in', [outsider, member]).execute()
    expect(written).toEqual([])
    const refusals = (await auditRows(fileDb.db, 'roles.assign')).filter((r) => r.outcome !== 'success' && !refusalsBefore.includes(r.id))
    expect(refusals.map((r) => r.outcome).sort()).toEqual(['denied', 'denied', 'failure'])
  })

  it('needs a tenant in a system scope, and refuses another tenant from a tenant scope', async () => {
    const member = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantB, member)
    const roleB = await insertRole(fileDb.db, tenantB, ['x:read'])
    const system = tenantry.asSystem({ actorId: admin, reason: 'support ticket 12' })
    const missing = await system.roles.assign(member, roleB).catch((e: unknown) => e)
    expect(isTenantryError(missing, 'VALIDATION')).toBe(true)
    await system.roles.assign(member, roleB, { tenantId: tenantB })
    const foreign = await scopeOf(tenantA)
      .roles.assign(member, roleB, { tenantId: tenantB })
      .catch((e: unknown) => e)
    expect(isTenantryError(foreign, 'FORBIDDEN')).toBe(true)
    const rows = await fileDb.db.selectFrom('tenantry.user_roles').selectAll().where('user_id', '=', member).execute()
    expect(rows.map((r) => r.tenant_id)).toEqual([tenantB])
  })
})

describe('seedDefaultRoles', () => {
  const defaults = { admin: ['*:*'], operator: ['jobs:*'], viewer: { permissions: ['*:read'], description: 'Read-only' } }

  it('creates the missing roles once; a second run creates nothing and changes nothing', async () => {
    const tenant = await insertTenant(fileDb.db, 'seeded')
    const scope = scopeOf(tenant)
    const first = await scope.roles.seedDefaultRoles(defaults)
    expect(first.created.sort()).toEqual(['admin', 'operator', 'viewer'])
    expect(first.roles.viewer).toMatchObject({ tenant_id: tenant, permissions: ['*:read'], description: 'Read-only' })
    // a host edit survives re-seeding
    await scope.roles.setPermissions(first.roles.operator!.id, ['jobs:read'])
    const before = await fileDb.db.selectFrom('tenantry.roles').selectAll().where('tenant_id', '=', tenant).orderBy('name').execute()
    const second = await scope.roles.seedDefaultRoles(defaults)
    expect(second.created).toEqual([])
    expect(second.roles.admin!.id).toBe(first.roles.admin!.id)
    const after = await fileDb.db.selectFrom('tenantry.roles').selectAll().where('tenant_id', '=', tenant).orderBy('name').execute()
    expect(after).toEqual(before)
    expect(after.find((r) => r.name === 'operator')!.permissions).toEqual(['jobs:read'])
    const audits = (await auditRows(fileDb.db, 'roles.create')).filter((r) => r.tenant_id === tenant)
    expect(audits).toHaveLength(3)
  })

  it('is safe to run concurrently', async () => {
    const tenant = await insertTenant(fileDb.db, 'seeded-race')
    const results = await Promise.all([1, 2, 3].map(() => scopeOf(tenant).roles.seedDefaultRoles(defaults)))
    expect(results.flatMap((r) => r.created).sort()).toEqual(['admin', 'operator', 'viewer'])
    for (const result of results) expect(Object.keys(result.roles).sort()).toEqual(['admin', 'operator', 'viewer'])
    expect(await fileDb.db.selectFrom('tenantry.roles').select('id').where('tenant_id', '=', tenant).execute()).toHaveLength(3)
  })

  it('seeds system roles from a system scope and validates definitions', async () => {
    const system = tenantry.asSystem({ reason: 'seed' })
    const name = `support-${randomUUID().slice(0, 8)}`
    const seeded = await system.roles.seedDefaultRoles({ [name]: ['tickets:*'] })
    expect(seeded.roles[name]).toMatchObject({ tenant_id: null })
    for (const bad of [{}, { admin: ['nope'] }, { admin: 'x:read' }, { Admin: [], admin: [] }]) {
      const error = await scopeOf(tenantA)
        .roles.seedDefaultRoles(bad as never)
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    }
  })
})
