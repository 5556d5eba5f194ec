import { beforeAll, describe, expect, it } from 'vitest'
import type { Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'trips')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
})

/** Round trips per operation in query mode, after the one-time column read. Documented in docs/performance.md. */
describe('round trips per operation (query isolation, no hooks)', () => {
  it('costs one round trip for each read and each audited write', async () => {
    const repo = tenantry.withContext({ tenantId, actorId: '00000000-0000-4000-8000-000000000001' }).repo('projects')
    const seed = await repo.createMany(Array.from({ length: 10 }, (_, i) => ({ name: `rt-${i}` })))
    const id = seed[0]!.id
    const trips = {
      findById: await fileDb.roundTrips.measure(() => repo.findById(id)),
      findMany: await fileDb.roundTrips.measure(() => repo.findMany({ limit: 50 })),
      page: await fileDb.roundTrips.measure(() => repo.page({ limit: 5 })),
      count: await fileDb.roundTrips.measure(() => repo.count()),
      exists: await fileDb.roundTrips.measure(() => repo.exists({ where: { name: 'rt-1' } })),
      create: await fileDb.roundTrips.measure(() => repo.create({ name: 'rt-new' })),
      createMany: await fileDb.roundTrips.measure(() => repo.createMany([{ name: 'rt-m1' }, { name: 'rt-m2' }])),
      update: await fileDb.roundTrips.measure(() => repo.update(id, { name: 'rt-0b' })),
      updateMany: await fileDb.roundTrips.measure(() => repo.updateMany({ name: { like: 'rt-%' } }, { status: 'paused' })),
      softDelete: await fileDb.roundTrips.measure(() => repo.softDelete(id)),
      restore: await fileDb.roundTrips.measure(() => repo.restore(id)),
      softDeleteMany: await fileDb.roundTrips.measure(() => repo.softDeleteMany({ name: ['rt-m1', 'rt-m2'] })),
      purge: await fileDb.roundTrips.measure(() => repo.purge(id)),
    }
    expect(trips).toEqual({
      findById: 1,
      findMany: 1,
      page: 1,
      count: 1,
      exists: 1,
      create: 1,
      createMany: 1,
      update: 1,
      updateMany: 1,
      softDelete: 1,
      restore: 1,
      softDeleteMany: 1,
      purge: 1,
    })
    const audited = await fileDb.db.selectFrom('tenantry.audit_logs').select('action').where('tenant_id', '=', tenantId).execute()
    expect(audited.length).toBeGreaterThanOrEqual(10 + 1 + 2 + 1 + 13 + 1 + 1 + 2 + 1)
  })

  it('costs one extra round trip, once per instance, to read the declared columns', async () => {
    const fresh = makeTenantry(fileDb.pool)
    const repo = fresh.withContext({ tenantId }).repo('projects')
    expect(await fileDb.roundTrips.measure(() => repo.count())).toBe(2)
    expect(await fileDb.roundTrips.measure(() => repo.count())).toBe(1)
  })

  it('wraps a transaction in BEGIN and COMMIT only', async () => {
    const scope = tenantry.withContext({ tenantId })
    const trips = await fileDb.roundTrips.measure(() =>
      scope.transaction(async (tx) => {
        const row = await tx.repo('projects').create({ name: 'tx-1' })
        await tx.repo('projects').update(row.id, { name: 'tx-2' })
      }),
    )
    expect(trips).toBe(4)
  })
})
