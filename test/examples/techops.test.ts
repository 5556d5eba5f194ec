import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { seedTechops, type SeededTechops } from '../../examples/techops/seed-techops.js'
import { createTechopsTables, techopsTables, type TechopsDB, type TechopsTables } from '../../examples/techops/techops-schema.js'
import { latestDeployments, projectDeployments, statusHistory, transitionRequest, type TechopsScope } from '../../examples/techops/techops-service.js'
import { createTenantry, TenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'

const file = await useFileDatabase()
let tenantry: Tenantry<TechopsDB, TechopsTables>
let seeded: SeededTechops

beforeAll(async () => {
  await createTechopsTables(file.db)
  tenantry = createTenantry<TechopsDB, TechopsTables>({ pool: file.pool, tables: techopsTables() })
  seeded = await seedTechops(tenantry)
})

function as(person: keyof SeededTechops['users']): TechopsScope {
  const tenant = person.startsWith('northwind') ? 'northwind' : 'contoso'
  return tenantry.withContext({ tenantId: seeded.tenants[tenant], actorId: seeded.users[person], requestId: `req-${person}` })
}

async function caught(promise: Promise<unknown>): Promise<TenantryError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TenantryError)
  return error as TenantryError
}

const rowsOf = (table: keyof TechopsDB, tenantId: string) => file.db.selectFrom(table).selectAll().where('tenant_id', '=', tenantId).execute()
const auditOf = (action: string, tenantId: string) =>
  file.db.withSchema('tenantry').selectFrom('audit_logs').selectAll().where('action', '=', action).where('tenant_id', '=', tenantId).execute()

/** A group with one project and `deployments` deployments of it, made by the tenant's operator. */
async function catalogue(tenant: 'northwind' | 'contoso', label: string, deployments = 1) {
  const lead = as(`${tenant}_lead`)
  const group = await lead.repo('project_groups').create({ name: `${label} group` })
  const project = await lead.repo('projects').create({ name: `${label} api`, group_id: group.id })
  const operator = as(`${tenant}_operator`)
  const created = []
  for (let i = 0; i < deployments; i++) {
    created.push(await operator.repo('deployments').create({ project_id: project.id, version: `1.${i}.0`, environment: 'staging' }))
  }
  return { group, project, deployments: created }
}

describe('the operations dashboard example', () => {
  it('shows each tenant only its own deployments, joined to project and group, newest first', async () => {
    const north = await catalogue('northwind', 'billing', 3)
    await catalogue('contoso', 'billing', 2)
    const rows = await latestDeployments(as('northwind_operator'), { limit: 50 })
    const mine = rows.filter((r) => r.project_name === 'billing api')
    expect(mine.map((r) => r.id).sort()).toEqual(north.deployments.map((d) => d.id).sort())
    expect(mine.every((r) => r.group_name === 'billing group')).toBe(true)
    const stored = await rowsOf('deployments', seeded.tenants.northwind)
    expect(rows).toHaveLength(stored.filter((d) => d.deleted_at === null).length)
    const ordered = [...rows].sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : -1))
    expect(rows.map((r) => r.id)).toEqual(ordered.map((r) => r.id))
    // The next page continues strictly after the last row of the first.
    const first = await latestDeployments(as('northwind_operator'), { limit: 2 })
    const second = await latestDeployments(as('northwind_operator'), { limit: 50, before: first[1]! })
    expect([...first, ...second].map((r) => r.id)).toEqual(rows.map((r) => r.id))
  })

  it('refuses a deployment of another tenant’s project with the same error as for a missing project, and stores nothing', async () => {
    const north = await catalogue('northwind', 'search')
    const contoso = as('contoso_operator')
    const before = await rowsOf('deployments', seeded.tenants.contoso)
    const foreign = await caught(contoso.repo('deployments').create({ project_id: north.project.id, version: '9.9.9', environment: 'production' }))
    const missing = await caught(contoso.repo('deployments').create({ project_id: randomUUID(), version: '9.9.9', environment: 'production' }))
    expect(foreign.code).toBe('FOREIGN_KEY_VIOLATION')
    expect(foreign.message).toBe(missing.message)
    expect(foreign.message).toContain('project_id')
    expect(await rowsOf('deployments', seeded.tenants.contoso)).toHaveLength(before.length)
    expect((await rowsOf('deployments', seeded.tenants.northwind)).some((d) => d.version === '9.9.9')).toBe(false)
  })

  it('keeps deployments from support on every path, repository and scope.db alike, and audits each refusal', async () => {
    const north = await catalogue('northwind', 'payments')
    const support = as('northwind_support')
    expect((await caught(support.repo('deployments').findMany())).code).toBe('FORBIDDEN')
    expect((await caught(latestDeployments(support))).code).toBe('FORBIDDEN')
    const write = await caught(support.repo('deployments').create({ project_id: north.project.id, version: '2.0.0', environment: 'production' }))
    expect(write.code).toBe('FORBIDDEN')
    const stored = await rowsOf('deployments', seeded.tenants.northwind)
    expect(stored.some((d) => d.version === '2.0.0')).toBe(false)
    const denied = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .selectAll()
      .where('actor_user_id', '=', seeded.users.northwind_support)
      .where('outcome', '=', 'denied')
      .execute()
    expect(denied.length).toBeGreaterThanOrEqual(3)
    // Support still sees projects and works on requests.
    expect(await support.repo('projects').findById(north.project.id)).not.toBeNull()
    expect(await support.repo('maintenance_requests').create({ project_id: north.project.id, title: 'Rotate TLS certificates' })).toMatchObject({
      status: 'open',
    })
  })

  it('records each status change in the history from one afterUpdate hook, with who made it', async () => {
    const north = await catalogue('northwind', 'ledger')
    const support = as('northwind_support')
    const request = await support.repo('maintenance_requests').create({ project_id: north.project.id, title: 'Upgrade PostgreSQL' })
    await transitionRequest(support, request.id, 'scheduled')
    await transitionRequest(as('northwind_operator'), request.id, 'in_progress')
    await expect(transitionRequest(support, request.id, 'open')).rejects.toThrow(/cannot become open/)
    const history = await file.db.selectFrom('request_status_history').selectAll().where('request_id', '=', request.id).orderBy('changed_at').execute()
    expect(history.map((h) => [h.from_status, h.to_status, h.changed_by])).toEqual([
      ['open', 'scheduled', seeded.users.northwind_support],
      ['scheduled', 'in_progress', seeded.users.northwind_operator],
    ])
    expect((await statusHistory(support, request.id)).map((h) => h.to_status)).toEqual(['scheduled', 'in_progress'])
    // Another tenant sees none of it.
    expect(await statusHistory(as('contoso_support'), request.id)).toEqual([])
    // A title edit changes no status and writes no history.
    await support.repo('maintenance_requests').update(request.id, { title: 'Upgrade PostgreSQL to 18' })
    expect(await file.db.selectFrom('request_status_history').select('id').where('request_id', '=', request.id).execute()).toHaveLength(2)
  })

  it('refuses to delete a project that still has open requests, naming them', async () => {
    const north = await catalogue('northwind', 'mailer')
    const lead = as('northwind_lead')
    await lead.repo('maintenance_requests').create({ project_id: north.project.id, title: 'Renew SMTP credentials' })
    const error = await caught(lead.repo('projects').softDelete(north.project.id))
    expect(error.code).toBe('CONFLICT')
    expect(error.message).toContain('maintenance_requests')
    const [project] = await file.db.selectFrom('projects').selectAll().where('id', '=', north.project.id).execute()
    expect(project!.deleted_at).toBeNull()
  })

  it('deletes a group with its projects and deployments, and a restore brings back exactly those', async () => {
    const north = await catalogue('northwind', 'analytics', 2)
    const lead = as('northwind_lead')
    // Deleted on its own, before the group: the group's restore must leave it deleted.
    const retired = north.deployments[0]!
    await lead.repo('deployments').softDelete(retired.id)
    await lead.repo('project_groups').softDelete(north.group.id)
    const deletedAt = async (table: 'projects' | 'deployments', id: string) =>
      (await file.db.selectFrom(table).select('deleted_at').where('id', '=', id).executeTakeFirstOrThrow()).deleted_at
    expect(await deletedAt('projects', north.project.id)).not.toBeNull()
    expect(await deletedAt('deployments', north.deployments[1]!.id)).not.toBeNull()
    expect((await auditOf('projects.softDelete', seeded.tenants.northwind)).some((a) => a.resource_id === north.project.id)).toBe(true)
    expect((await auditOf('deployments.softDelete', seeded.tenants.northwind)).filter((a) => a.resource_id === north.deployments[1]!.id)).toHaveLength(1)
    // A deployment under a deleted project is refused like one under a missing project.
    const orphan = await caught(as('northwind_operator').repo('deployments').create({ project_id: north.project.id, version: '3.0.0', environment: 'staging' }))
    expect(orphan.code).toBe('FOREIGN_KEY_VIOLATION')

    await lead.repo('project_groups').restore(north.group.id)
    expect(await deletedAt('projects', north.project.id)).toBeNull()
    expect(await deletedAt('deployments', north.deployments[1]!.id)).toBeNull()
    expect(await deletedAt('deployments', retired.id)).not.toBeNull()
    const page = await projectDeployments(as('northwind_operator'), north.project.id)
    expect(page.items.map((d) => d.id)).toEqual([north.deployments[1]!.id])
  })

  it('refuses a group delete whose cascade would reach deployments the actor may not write, and changes nothing', async () => {
    const north = await catalogue('northwind', 'telemetry')
    const error = await caught(as('northwind_support').repo('project_groups').softDelete(north.group.id))
    expect(error.code).toBe('FORBIDDEN')
    expect(error.message).toContain('deployments:write')
    for (const [table, id] of [
      ['project_groups', north.group.id],
      ['projects', north.project.id],
      ['deployments', north.deployments[0]!.id],
    ] as const) {
      expect((await file.db.selectFrom(table).select('deleted_at').where('id', '=', id).executeTakeFirstOrThrow()).deleted_at).toBeNull()
    }
  })
})
