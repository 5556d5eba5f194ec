import { sql, type Generated } from 'kysely'
import { createTenantry, defineTable, isTenantryError, type ReferenceOption } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase, type AppDB } from './support/consumer-database.js'

interface RefDB extends AppDB {
  deployments: { id: Generated<string>; tenant_id: string; project_id: string; name: string; deleted_at: Date | null }
}

const { pool, tenantId } = await useConsumerDatabase()
const projectRef: ReferenceOption = { table: 'projects', onSoftDelete: 'cascade' }
const tenantry = createTenantry<RefDB>({
  pool,
  tables: {
    projects: defineTable<RefDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }),
    deployments: defineTable<RefDB, 'deployments'>({ table: 'deployments', softDelete: 'deleted_at', references: { project_id: projectRef } }),
  },
})

beforeAll(async () => {
  // A plain, tenant-blind foreign key, as most schemas have.
  await sql`create table deployments (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants (id),
    project_id uuid not null references projects (id),
    name text not null,
    deleted_at timestamptz
  )`.execute(tenantry.kysely)
})

describe('declared references, from the installed package', () => {
  it("refuses another tenant's project, and cascades a project's soft delete to its deployments", async () => {
    const other = await tenantry.asSystem({ reason: 'consumer check' }).tenants.create({ slug: 'other', name: 'Other' })
    const foreign = await tenantry.withContext({ tenantId: other.id }).repo('projects').create({ name: 'Theirs' })
    const scope = tenantry.withContext({ tenantId })
    const error = await scope
      .repo('deployments')
      .create({ name: 'steal', project_id: foreign.id })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FOREIGN_KEY_VIOLATION')).toBe(true)
    const project = await scope.repo('projects').create({ name: 'Ours' })
    const deployment = await scope.repo('deployments').create({ name: 'v1', project_id: project.id })
    await scope.repo('projects').softDelete(project.id)
    const { rows } = await pool.query('select deleted_at from deployments where id = $1', [deployment.id])
    expect(rows[0].deleted_at).toBeInstanceOf(Date)
    const count = await pool.query(`select count(*)::int as n from deployments where name = 'steal'`)
    expect(count.rows[0].n).toBe(0)
  })
})
