import { createTenantry, defineTable, isTenantryError, type TablePermissions } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { type AppDB, useConsumerDatabase } from './support/consumer-database.js'

const { pool, tenantId } = await useConsumerDatabase()
const permissions: TablePermissions = { read: 'projects:read', write: ['projects:write'] }
const tenantry = createTenantry<AppDB>({
  pool,
  tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at', permissions }) },
})
let reader = ''

beforeAll(async () => {
  // Plain SQL with only the essential columns, as a host's own admin tooling would write it.
  const { rows } = await pool.query<{ id: string }>("insert into tenantry.users (email) values ('reader@example.com') returning id")
  reader = rows[0]!.id
  await pool.query('insert into tenantry.memberships (tenant_id, user_id) values ($1, $2)', [tenantId, reader])
  const role = await pool.query<{ id: string }>(
    "insert into tenantry.roles (tenant_id, name, permissions) values ($1, 'viewer', '{projects:read}') returning id",
    [tenantId],
  )
  await pool.query('insert into tenantry.user_roles (tenant_id, user_id, role_id) values ($1, $2, $3)', [tenantId, reader, role.rows[0]!.id])
  await tenantry.asSystem({ reason: 'consumer check' }).repo('projects').create({ name: 'P1', tenant_id: tenantId })
})

describe('declared table permissions, from the installed package', () => {
  it('lets a reader read, refuses its writes with FORBIDDEN and a denied audit row, and lets asSystem through', async () => {
    const scope = tenantry.withContext({ tenantId, actorId: reader })
    expect((await scope.repo('projects').findMany()).map((r) => r.name)).toEqual(['P1'])
    expect((await scope.db.selectFrom('projects').select('name').execute()).map((r) => r.name)).toEqual(['P1'])

    const error = await scope
      .repo('projects')
      .create({ name: 'P2' })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    expect((error as Error).message).toContain('projects:write')
    const dbError = await scope.db
      .deleteFrom('projects')
      .execute()
      .catch((e: unknown) => e)
    expect(isTenantryError(dbError, 'FORBIDDEN')).toBe(true)

    const { rows } = await pool.query<{ name: string }>('select name from projects where tenant_id = $1 and deleted_at is null order by name', [tenantId])
    expect(rows.map((r) => r.name)).toEqual(['P1'])
    const audit = await pool.query<{ action: string; permission: string }>(
      "select action, metadata ->> 'permission' as permission from tenantry.audit_logs where actor_user_id = $1 and outcome = 'denied' order by created_at, id",
      [reader],
    )
    expect(audit.rows).toEqual([
      { action: 'projects.create', permission: 'projects:write' },
      { action: 'scope.db.delete', permission: 'projects:write' },
    ])

    await tenantry.asSystem({ reason: 'consumer check' }).repo('projects').create({ name: 'P2', tenant_id: tenantId })
    expect(await scope.repo('projects').count()).toBe(2)
  })
})
