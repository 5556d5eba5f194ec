import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { createAppRole, type AppRole } from '../isolation/support/app-role.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
const modes: Record<string, Tenantry<AppDB>> = {}
let role: AppRole
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'agg-a')
  tenantB = await insertTenant(fileDb.db, 'agg-b')
  const rows = [
    { tenant_id: tenantA, name: 'a1', status: 'active', budget: 10 },
    { tenant_id: tenantA, name: 'a2', status: 'active', budget: 25 },
    { tenant_id: tenantA, name: 'a3', status: 'paused', budget: null },
    { tenant_id: tenantA, name: 'a4', status: 'paused', budget: 7 },
    // Soft-deleted: counted only by withDeleted() and onlyDeleted().
    { tenant_id: tenantA, name: 'a5', status: 'active', budget: 1000, deleted_at: new Date() },
    { tenant_id: tenantB, name: 'b1', status: 'active', budget: 500 },
    { tenant_id: tenantB, name: 'b2', status: 'archived', budget: 600 },
  ]
  await fileDb.db.insertInto('projects').values(rows).execute()
  await fileDb.db
    .insertInto('notes')
    .values([
      { id: '9007199254740000', tenant_id: tenantA, body: 'big' },
      { id: '3', tenant_id: tenantA, body: 'small' },
      { id: '77', tenant_id: tenantB, body: 'other' },
    ])
    .execute()
  const owner = makeTenantry(fileDb.pool, { isolation: 'rls' })
  await owner.rls.enable()
  role = await createAppRole(fileDb)
  modes.query = makeTenantry(fileDb.pool)
  modes.rls = makeTenantry(role.pool, { isolation: 'rls' })
  await modes.query.ready()
  await modes.rls.ready()
})

for (const mode of ['query', 'rls'] as const) {
  describe(`repo.aggregate (${mode} mode)`, () => {
    const projects = () => modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')

    it('counts per group as numbers, in the tenant, without soft-deleted rows', async () => {
      const byStatus = await projects().aggregate({ groupBy: 'status', count: true })
      expect(byStatus).toEqual([
        { status: 'active', count: 2 },
        { status: 'paused', count: 2 },
      ])
      expect(typeof byStatus[0]!.count).toBe('number')
    })

    it('sums, averages and takes min and max per group', async () => {
      const rows = await projects().aggregate({ groupBy: ['status'], count: true, sum: ['budget'], avg: ['budget'], min: ['budget', 'name'], max: ['budget'] })
      expect(rows).toEqual([
        { status: 'active', count: 2, sum: { budget: 35 }, avg: { budget: 17.5 }, min: { budget: 10, name: 'a1' }, max: { budget: 25 } },
        { status: 'paused', count: 2, sum: { budget: 7 }, avg: { budget: 7 }, min: { budget: 7, name: 'a3' }, max: { budget: 7 } },
      ])
    })

    it('returns one row without groupBy, also when nothing matches', async () => {
      expect(await projects().aggregate({ count: true, sum: ['budget'] })).toEqual([{ count: 4, sum: { budget: 42 } }])
      expect(await projects().aggregate({ where: { name: 'none' }, count: true, sum: ['budget'], max: ['created_at'] })).toEqual([
        { count: 0, sum: { budget: null }, max: { created_at: null } },
      ])
      const [latest] = await projects().aggregate({ max: ['created_at'] })
      expect(latest!.max.created_at).toBeInstanceOf(Date)
    })

    it('applies where and the soft-delete views', async () => {
      expect(await projects().aggregate({ where: { or: [{ budget: { gt: 9 } }, { budget: null }] }, count: true })).toEqual([{ count: 3 }])
      expect(
        await projects()
          .withDeleted()
          .aggregate({ count: true, sum: ['budget'] }),
      ).toEqual([{ count: 5, sum: { budget: 1042 } }])
      expect(await projects().onlyDeleted().aggregate({ groupBy: 'status', count: true })).toEqual([{ status: 'active', count: 1 }])
    })

    it('turns bigint sums into numbers (exact up to 2^53 - 1)', async () => {
      const notes = modes[mode]!.withContext({ tenantId: tenantA }).repo('notes')
      const [row] = await notes.aggregate({ count: true, sum: ['id'], max: ['id'] })
      expect(row).toEqual({ count: 2, sum: { id: 9007199254740003 }, max: { id: '9007199254740000' } })
    })

    it('costs the same single statement as count()', async () => {
      const counter = mode === 'query' ? fileDb.roundTrips : role.roundTrips
      const repo = projects()
      const countTrips = await counter.measure(() => repo.count())
      const aggregateTrips = await counter.measure(() => repo.aggregate({ groupBy: 'status', count: true, sum: ['budget'], min: ['name'] }))
      expect(aggregateTrips).toBe(countTrips)
      if (mode === 'query') expect(aggregateTrips).toBe(1)
    })
  })
}

describe('aggregate options', () => {
  it('refuses misspelt keys, unknown columns and aggregates that do not fit, before any SQL', async () => {
    const repo = modes.query!.withContext({ tenantId: tenantA }).repo('projects')
    fileDb.roundTrips.reset()
    const attempts: [string, unknown][] = [
      ['misspelt key', { count: true, gropuBy: 'status' }],
      ['unknown column', { groupBy: 'nope', count: true }],
      ['sum of text', { sum: ['name'] }],
      ['avg of a date', { avg: ['created_at'] }],
      ['nothing asked', { groupBy: 'status' }],
      ['count not a boolean', { count: 'yes' }],
      ['empty list', { sum: [] }],
      ['sql in where', { where: { name: () => 1 }, count: true }],
    ]
    for (const [name, options] of attempts) {
      const error = await repo.aggregate(options as never).catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION'), name).toBe(true)
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('types results from the options', async () => {
    const repo = modes.query!.withContext({ tenantId: tenantA }).repo('projects')
    const rows = await repo.aggregate({ groupBy: 'status', count: true, sum: ['budget'], max: ['created_at'] })
    expectTypeOf(rows[0]!.status).toEqualTypeOf<string>()
    expectTypeOf(rows[0]!.count).toEqualTypeOf<number>()
    expectTypeOf(rows[0]!.sum.budget).toEqualTypeOf<number | null>()
    expectTypeOf(rows[0]!.max.created_at).toEqualTypeOf<Date | null>()
    // @ts-expect-error not asked for
    expect(rows[0]!.avg).toBeUndefined()
  })
})

describe('numbers from scope.db aggregates (docs/isolation.md)', () => {
  it('returns bigint counts and sums as strings unless cast to integer in SQL', async () => {
    const db = modes.query!.withContext({ tenantId: tenantA }).db
    const raw = await db
      .selectFrom('projects')
      .select((eb) => [eb.fn.count<number>('id').as('n'), eb.fn.sum<number>('budget').as('total')])
      .executeTakeFirstOrThrow()
    // The type parameter is a claim, not a conversion: pg returns bigint and numeric as text.
    expect(raw).toEqual({ n: '4', total: '42' })
    const cast = await db
      .selectFrom('projects')
      .select((eb) => [eb.cast<number>(eb.fn.count('id'), 'integer').as('n'), eb.cast<number>(eb.fn.sum('budget'), 'integer').as('total')])
      .executeTakeFirstOrThrow()
    expect(cast).toEqual({ n: 4, total: 42 })
  })
})
