import { randomUUID } from 'node:crypto'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isTenantryError, type TableRepository, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let rowOfB: { id: string }

/** Every row of tenant B, as the database holds it. */
async function snapshotOfB(): Promise<unknown[]> {
  return fileDb.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'tenant-a')
  tenantB = await insertTenant(fileDb.db, 'tenant-b')
  tenantry = makeTenantry(fileDb.pool)
})

beforeEach(async () => {
  await fileDb.db.deleteFrom('projects').execute()
  const b = tenantry.withContext({ tenantId: tenantB }).repo('projects')
  rowOfB = await b.create({ name: 'B live', slug: 'shared' })
  const deletedOfB = await b.create({ name: 'B deleted', slug: 'gone' })
  await b.softDelete(deletedOfB.id)
  await tenantry.withContext({ tenantId: tenantA }).repo('projects').create({ name: 'A live', slug: 'shared' })
})

type Repo = TableRepository<AppDB, 'projects'>

/** Each operation of the repository API, run as tenant A and aimed at tenant B's rows. */
const operations: Record<string, (repo: Repo, bId: string) => Promise<unknown>> = {
  findById: async (repo, id) => expect(await repo.findById(id)).toBeNull(),
  'withDeleted().findById': async (repo, id) => expect(await repo.withDeleted().findById(id)).toBeNull(),
  getById: (repo, id) => repo.getById(id),
  findOne: async (repo) => expect(await repo.findOne({ where: { name: 'B live' } })).toBeNull(),
  findMany: async (repo) => expect((await repo.findMany({ where: { slug: ['shared', 'gone'] } })).map((r) => r.name)).toEqual(['A live']),
  'withDeleted().findMany': async (repo) => expect((await repo.withDeleted().findMany()).every((r) => r.tenant_id === tenantA)).toBe(true),
  page: async (repo) => expect((await repo.page({ limit: 10 })).items.map((r) => r.name)).toEqual(['A live']),
  count: async (repo) => expect(await repo.count()).toBe(1),
  'onlyDeleted().count': async (repo) => expect(await repo.onlyDeleted().count()).toBe(0),
  exists: async (repo) => expect(await repo.exists({ where: { name: 'B live' } })).toBe(false),
  update: (repo, id) => repo.update(id, { name: 'hijacked' }),
  updateMany: async (repo) => expect(await repo.updateMany({ name: 'B live' }, { name: 'hijacked' })).toEqual({ count: 0 }),
  softDelete: (repo, id) => repo.softDelete(id),
  softDeleteMany: async (repo) => expect(await repo.softDeleteMany({ slug: 'shared' })).toEqual({ count: 1 }),
  restore: async (repo) => {
    const [deleted] = await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'B deleted').execute()
    return repo.restore(deleted!.id)
  },
  purge: (repo, id) => repo.purge(id),
  'withDeleted().purge': (repo, id) => repo.withDeleted().purge(id),
  'create naming tenant B': (repo) => repo.create({ name: 'planted', tenant_id: tenantB }),
  'createMany naming tenant B': (repo) => repo.createMany([{ name: 'ok' }, { name: 'planted', tenant_id: tenantB }]),
  'update moving a row to tenant B': async (repo) => {
    const own = await repo.findOne({ where: { name: 'A live' } })
    return repo.update(own!.id, { tenant_id: tenantB })
  },
}

describe('tenant isolation conformance: tenant A against tenant B rows', () => {
  for (const [name, run] of Object.entries(operations)) {
    it(`${name} neither reveals nor changes tenant B's rows`, async () => {
      const before = await snapshotOfB()
      const repo = tenantry.withContext({ tenantId: tenantA }).repo('projects')
      try {
        await run(repo, rowOfB.id)
      } catch (error) {
        expect(isTenantryError(error)).toBe(true)
        expect(['NOT_FOUND', 'FORBIDDEN']).toContain((error as { code: string }).code)
      }
      expect(await snapshotOfB()).toEqual(before)
      const planted = await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'planted').execute()
      expect(planted).toEqual([])
    })
  }

  it('fills tenant_id on insert from the context', async () => {
    const created = await tenantry.withContext({ tenantId: tenantA }).repo('projects').create({ name: 'filled' })
    const row = await fileDb.db.selectFrom('projects').select('tenant_id').where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(row.tenant_id).toBe(tenantA)
  })

  it("audits a write aimed at another tenant's row as denied, with the same NOT_FOUND a missing row gets", async () => {
    const repo = tenantry.withContext({ tenantId: tenantA, actorId: randomUUID() }).repo('projects')
    const foreign = await repo.update(rowOfB.id, { name: 'x' }).catch((e: unknown) => e)
    const missing = await repo.update(randomUUID(), { name: 'x' }).catch((e: unknown) => e)
    expect((foreign as Error).message).toBe((missing as Error).message)
    const denied = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', rowOfB.id).where('outcome', '=', 'denied').execute()
    expect(denied).toHaveLength(1)
    expect(denied[0]).toMatchObject({ tenant_id: tenantA, action: 'projects.update', error_code: 'NOT_FOUND' })
  })

  it('audits an insert naming another tenant as denied and writes nothing', async () => {
    const error = await tenantry
      .withContext({ tenantId: tenantA })
      .repo('projects')
      .create({ name: 'planted', tenant_id: tenantB })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    const rows = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('action', '=', 'projects.create').where('outcome', '=', 'denied').execute()
    expect(rows.length).toBeGreaterThanOrEqual(1)
  })
})

describe('context', () => {
  it('refuses a missing context before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    for (const bad of [undefined, null, {}, { tenantId: '' }, { tenantId: null }]) {
      expect(() => tenantry.withContext(bad as never)).toThrow(expect.objectContaining({ code: 'CONTEXT_MISSING' }))
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('refuses a malformed tenant id or extra keys before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    for (const bad of [
      { tenantId: 'tenant-a' },
      { tenantId: `${tenantA}' or 1=1 --` },
      { tenantId: tenantA, tenant: 'x' },
      { tenantId: tenantA, ip: 'nope' },
    ]) {
      expect(() => tenantry.withContext(bad as never)).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('refuses an unknown table before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    expect(() => tenantry.withContext({ tenantId: tenantA }).repo('nope' as never)).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('requires a reason for a system scope', () => {
    expect(() => tenantry.asSystem({ reason: '' })).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
  })
})
