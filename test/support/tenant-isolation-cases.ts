import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { beforeEach, expect, it } from 'vitest'
import { isTenantryError, type TableRepository, type Tenantry } from '../../src/index.js'
import type { AppDB } from './host-schema.js'

/** Two tenants, a tenantry over the host tables of `host-schema.ts`, and the database under them. */
export interface IsolationTarget {
  tenantry: Tenantry<AppDB>
  /** Reads and resets rows as the test sees them (any connection; on Citus an ordinary one). */
  db: Kysely<any>
  tenantA: string
  tenantB: string
}

type Repo = TableRepository<AppDB, 'projects'>

/**
 * The tenant-isolation cases, registered in the calling `describe`: every repository operation run
 * as tenant A against tenant B's rows neither reveals nor changes them, and refused writes are
 * audited as `denied`. The same cases run on one node (`test/repository/tenant-isolation.test.ts`)
 * and on a Citus cluster over connections that refuse multi-shard work
 * (`test/citus/tenant-isolation.test.ts`). Each asserts on the rows in the database.
 *
 * @example
 * describe('tenant isolation on one node', () => tenantIsolationCases(() => ({ tenantry, db, tenantA, tenantB })))
 */
export function tenantIsolationCases(target: () => IsolationTarget): void {
  let rowOfB: { id: string }

  /** Every row of tenant B, as the database holds it. */
  const snapshotOfB = async (): Promise<unknown[]> => {
    const { db, tenantB } = target()
    return db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()
  }

  beforeEach(async () => {
    const { db, tenantry, tenantA, tenantB } = target()
    await db.deleteFrom('projects').execute()
    const b = tenantry.withContext({ tenantId: tenantB }).repo('projects')
    rowOfB = await b.create({ name: 'B live', slug: 'shared' })
    const deletedOfB = await b.create({ name: 'B deleted', slug: 'gone' })
    await b.softDelete(deletedOfB.id)
    await tenantry.withContext({ tenantId: tenantA }).repo('projects').create({ name: 'A live', slug: 'shared' })
  })

  /** Each operation of the repository API, run as tenant A and aimed at tenant B's rows. */
  const operations: Record<string, (repo: Repo, bId: string) => Promise<unknown>> = {
    findById: async (repo, id) => expect(await repo.findById(id)).toBeNull(),
    'withDeleted().findById': async (repo, id) => expect(await repo.withDeleted().findById(id)).toBeNull(),
    getById: (repo, id) => repo.getById(id),
    findOne: async (repo) => expect(await repo.findOne({ where: { name: 'B live' } })).toBeNull(),
    findMany: async (repo) => expect((await repo.findMany({ where: { slug: ['shared', 'gone'] } })).map((r) => r.name)).toEqual(['A live']),
    'withDeleted().findMany': async (repo) => expect((await repo.withDeleted().findMany()).every((r) => r.tenant_id === target().tenantA)).toBe(true),
    page: async (repo) => expect((await repo.page({ limit: 10 })).items.map((r) => r.name)).toEqual(['A live']),
    count: async (repo) => expect(await repo.count()).toBe(1),
    'onlyDeleted().count': async (repo) => expect(await repo.onlyDeleted().count()).toBe(0),
    exists: async (repo) => expect(await repo.exists({ where: { name: 'B live' } })).toBe(false),
    update: (repo, id) => repo.update(id, { name: 'hijacked' }),
    updateMany: async (repo) => expect(await repo.updateMany({ name: 'B live' }, { name: 'hijacked' })).toEqual({ count: 0 }),
    softDelete: (repo, id) => repo.softDelete(id),
    softDeleteMany: async (repo) => expect(await repo.softDeleteMany({ slug: 'shared' })).toEqual({ count: 1 }),
    restore: async (repo) => {
      const [deleted] = await target().db.selectFrom('projects').select('id').where('name', '=', 'B deleted').execute()
      return repo.restore(deleted!.id)
    },
    purge: (repo, id) => repo.purge(id),
    'withDeleted().purge': (repo, id) => repo.withDeleted().purge(id),
    'create naming tenant B': (repo) => repo.create({ name: 'planted', tenant_id: target().tenantB }),
    'createMany naming tenant B': (repo) => repo.createMany([{ name: 'ok' }, { name: 'planted', tenant_id: target().tenantB }]),
    'update moving a row to tenant B': async (repo) => {
      const own = await repo.findOne({ where: { name: 'A live' } })
      return repo.update(own!.id, { tenant_id: target().tenantB })
    },
  }

  for (const [name, run] of Object.entries(operations)) {
    it(`${name} neither reveals nor changes tenant B's rows`, async () => {
      const { db, tenantry, tenantA } = target()
      const before = await snapshotOfB()
      const repo = tenantry.withContext({ tenantId: tenantA }).repo('projects')
      try {
        await run(repo, rowOfB.id)
      } catch (error) {
        expect(isTenantryError(error)).toBe(true)
        expect(['NOT_FOUND', 'FORBIDDEN']).toContain((error as { code: string }).code)
      }
      expect(await snapshotOfB()).toEqual(before)
      const planted = await db.selectFrom('projects').select('id').where('name', '=', 'planted').execute()
      expect(planted).toEqual([])
    })
  }

  it('fills tenant_id on insert from the context', async () => {
    const { db, tenantry, tenantA } = target()
    const created = await tenantry.withContext({ tenantId: tenantA }).repo('projects').create({ name: 'filled' })
    const row = await db.selectFrom('projects').select('tenant_id').where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(row.tenant_id).toBe(tenantA)
  })

  it("audits a write aimed at another tenant's row as denied, with the same NOT_FOUND a missing row gets", async () => {
    const { db, tenantry, tenantA } = target()
    const repo = tenantry.withContext({ tenantId: tenantA, actorId: randomUUID() }).repo('projects')
    const foreign = await repo.update(rowOfB.id, { name: 'x' }).catch((e: unknown) => e)
    const missing = await repo.update(randomUUID(), { name: 'x' }).catch((e: unknown) => e)
    expect((foreign as Error).message).toBe((missing as Error).message)
    const denied = await db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', rowOfB.id).where('outcome', '=', 'denied').execute()
    expect(denied).toHaveLength(1)
    expect(denied[0]).toMatchObject({ tenant_id: tenantA, action: 'projects.update', error_code: 'NOT_FOUND' })
  })

  it('audits an insert naming another tenant as denied and writes nothing', async () => {
    const { db, tenantry, tenantA, tenantB } = target()
    const error = await tenantry
      .withContext({ tenantId: tenantA })
      .repo('projects')
      .create({ name: 'planted', tenant_id: tenantB })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    const rows = await db.selectFrom('tenantry.audit_logs').selectAll().where('action', '=', 'projects.create').where('outcome', '=', 'denied').execute()
    expect(rows.length).toBeGreaterThanOrEqual(1)
    expect(await db.selectFrom('projects').select('id').where('name', '=', 'planted').execute()).toEqual([])
  })
}
