import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'read-options')
  await fileDb.db
    .insertInto('projects')
    .values(Array.from({ length: 120 }, (_, i) => ({ tenant_id: tenantId, name: `row-${String(i).padStart(3, '0')}` })))
    .execute()
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
})

afterEach(() => {
  vi.restoreAllMocks()
})

const projects = () => tenantry.withContext({ tenantId }).repo('projects')

describe('read options', () => {
  it('refuses misspelt option keys in every read with VALIDATION, before any SQL', async () => {
    const repo = projects()
    fileDb.roundTrips.reset()
    const attempts: [string, () => Promise<unknown>][] = [
      ['findMany wher', () => repo.findMany({ wher: { name: 'x' } } as never)],
      ['findMany limt', () => repo.findMany({ limt: 5 } as never)],
      ['findMany orderby', () => repo.findMany({ orderby: 'name' } as never)],
      ['findOne limit', () => repo.findOne({ where: { name: 'x' }, limit: 2 } as never)],
      ['findOne wehre', () => repo.findOne({ wehre: { name: 'x' } } as never)],
      ['page cursor', () => repo.page({ cursor: 'x' } as never)],
      ['page offset', () => repo.page({ offset: 5 } as never)],
      ['count whre', () => repo.count({ whre: { name: 'x' } } as never)],
      ['count limit', () => repo.count({ limit: 1 } as never)],
      ['exists where_', () => repo.exists({ where_: { name: 'x' } } as never)],
      ['aggregate grouBy', () => repo.aggregate({ count: true, grouBy: 'status' } as never)],
      ['findMany not an object', () => repo.findMany('all' as never)],
    ]
    for (const [name, attempt] of attempts) {
      const error = await attempt().then(
        () => 'succeeded',
        (e: unknown) => e,
      )
      expect(isTenantryError(error, 'VALIDATION'), name).toBe(true)
      expect((error as Error).message, name).toMatch(/option|options/)
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })
})

describe('findMany truncation', () => {
  it('says once, without values, when the default limit cut rows off', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const fresh = makeTenantry(fileDb.pool)
    const repo = fresh.withContext({ tenantId }).repo('projects')
    expect(await repo.findMany()).toHaveLength(100)
    expect(await repo.findMany()).toHaveLength(100)
    expect(warn).toHaveBeenCalledTimes(1)
    const message = String(warn.mock.calls[0]![0])
    expect(message).toContain('projects.findMany returned the first 100 rows')
    expect(message).toContain('page()')
    expect(message).not.toContain('row-')
    // Still one round trip: the extra row that reveals the cut comes with the same statement.
    expect(await fileDb.roundTrips.measure(() => repo.findMany())).toBe(1)
  })

  it('stays quiet when the caller chose the limit or when nothing was cut', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const fresh = makeTenantry(fileDb.pool)
    const repo = fresh.withContext({ tenantId }).repo('projects')
    expect(await repo.findMany({ limit: 10 })).toHaveLength(10)
    expect(await repo.findMany({ where: { name: { startsWith: 'row-00' } } })).toHaveLength(10)
    expect(await repo.findMany({ limit: 1000 })).toHaveLength(120)
    expect(warn).not.toHaveBeenCalled()
  })

  it('says so when a limit above the cap was cut to 1000', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const fresh = makeTenantry(fileDb.pool)
    const repo = fresh.withContext({ tenantId }).repo('projects')
    await fileDb.db
      .insertInto('projects')
      .values(Array.from({ length: 900 }, (_, i) => ({ tenant_id: tenantId, name: `more-${i}` })))
      .execute()
    expect(await repo.findMany({ limit: 5000 })).toHaveLength(1000)
    expect(String(warn.mock.calls[0]?.[0])).toContain('returned the first 1000 rows')
    expect(
      await fileDb.db
        .selectFrom('projects')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow(),
    ).toEqual({ n: '1020' })
  })
})
