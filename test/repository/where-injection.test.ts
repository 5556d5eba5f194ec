import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type TableRepository, type Tenantry } from '../../src/index.js'
import { createAppRole } from '../isolation/support/app-role.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

/**
 * Adversarial `where` values, run as tenant A against tenant B's rows in both isolation modes
 * (rls: a non-owner role with row-level security forced). A value that is SQL, a function or an
 * object must be refused with VALIDATION naming the column, before any SQL, and change nothing.
 */

const fileDb = await useFileDatabase()
const modes: Record<string, Tenantry<AppDB>> = {}
const roundTrips: Record<string, { reset(): void; readonly count: number }> = {}
let tenantA: string
let tenantB: string

type Repo = TableRepository<AppDB, 'projects'>

async function snapshot(): Promise<unknown[]> {
  return fileDb.db.selectFrom('projects').selectAll().orderBy('id').execute()
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'inj-a')
  tenantB = await insertTenant(fileDb.db, 'inj-b')
  await fileDb.db
    .insertInto('projects')
    .values([{ tenant_id: tenantA, name: 'A one' }, ...Array.from({ length: 5 }, (_, i) => ({ tenant_id: tenantB, name: `B ${i}`, secret: `b-secret-${i}` }))])
    .execute()
  const owner = makeTenantry(fileDb.pool, { isolation: 'rls' })
  await owner.rls.enable()
  const role = await createAppRole(fileDb)
  modes.query = makeTenantry(fileDb.pool)
  modes.rls = makeTenantry(role.pool, { isolation: 'rls' })
  roundTrips.query = fileDb.roundTrips
  roundTrips.rls = role.roundTrips
  await modes.query.ready()
  await modes.rls.ready()
})

/** Hostile filters: SQL templates, Kysely expression factories, objects that are not plain data. */
const hostile: Record<string, () => Record<string, unknown>> = {
  'eq: sql template': () => ({ name: { eq: sql`'zz' or true` } }),
  'bare sql template': () => ({ name: sql`'zz' or true` }),
  'function value': () => ({ name: () => sql`'zz' or true` }),
  'function returning a number': () => ({ name: () => 1 }),
  'function item in an in list': () => ({ name: { in: ['x', () => sql`'zz' or true`] } }),
  'sql item in a shorthand list': () => ({ name: ['x', sql`'zz' or true`] }),
  'sql in ne': () => ({ name: { ne: sql`'zz' and false` } }),
  'sql in gt': () => ({ name: { gt: sql`'' or true` } }),
  'sql in like': () => ({ name: { like: sql`'%' or true` } }),
  'sql in contains': () => ({ name: { contains: sql`'' or true` } }),
  'object with toPostgres': () => ({ name: { eq: { toPostgres: () => "' or true --" } } }),
  'class instance': () => ({ name: new (class Evil {})() }),
  symbol: () => ({ name: Symbol('x') }),
  'sql inside or': () => ({ or: [{ name: 'x' }, { name: sql`'zz' or true` }] }),
  'function inside not': () => ({ not: { name: () => sql`'zz' and false` } }),
  'sql in mode': () => ({ name: { eq: 'x', mode: sql`insensitive` } }),
  'String object': () => ({ name: new String('x') }),
  'an operator getter that turns into SQL after it was checked': () => {
    let reads = 0
    return {
      name: {
        get eq() {
          return reads++ > 0 ? sql`'zz' or true` : () => 1
        },
      },
    }
  },
  'an object with a function in a JSON-looking value': () => ({ name: { eq: { a: () => 1 } } }),
}

const operations: Record<string, (repo: Repo, where: Record<string, unknown>) => Promise<unknown>> = {
  findMany: (repo, where) => repo.findMany({ where: where as never }),
  findOne: (repo, where) => repo.findOne({ where: where as never }),
  count: (repo, where) => repo.count({ where: where as never }),
  exists: (repo, where) => repo.exists({ where: where as never }),
  page: (repo, where) => repo.page({ where: where as never }),
  aggregate: (repo, where) => repo.aggregate({ where: where as never, count: true }),
  updateMany: (repo, where) => repo.updateMany(where as never, { name: 'hijacked' }),
  softDeleteMany: (repo, where) => repo.softDeleteMany(where as never),
  'withDeleted().findMany': (repo, where) => repo.withDeleted().findMany({ where: where as never }),
}

for (const mode of ['query', 'rls'] as const) {
  describe(`where values that are SQL (${mode} mode)`, () => {
    for (const [attack, filter] of Object.entries(hostile)) {
      it(`refuses ${attack} in every operation with VALIDATION naming the column, before any SQL`, async () => {
        const before = await snapshot()
        const repo = modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')
        for (const [name, run] of Object.entries(operations)) {
          roundTrips[mode]!.reset()
          const error = await run(repo, filter()).then(
            (result) => ({ leaked: result, name }),
            (e: unknown) => e,
          )
          expect(isTenantryError(error, 'VALIDATION'), `${name}: ${JSON.stringify(error)}`).toBe(true)
          expect((error as { column?: string }).column, name).toBe('name')
          expect((error as Error).message).not.toContain('zz')
          expect(roundTrips[mode]!.count, name).toBe(0)
        }
        expect(await snapshot()).toEqual(before)
      })
    }

    it('binds the list it checked, even when the list changes after being read', async () => {
      const before = await snapshot()
      const repo = modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')
      const shifty = () => {
        let reads = 0
        const list = new Proxy(['x'], {
          get: (target, key, receiver) => (key === '0' && reads++ > 0 ? sql`'zz' or true` : Reflect.get(target, key, receiver)),
        })
        return { name: { in: list } } as never
      }
      expect(await repo.findMany({ where: shifty() })).toEqual([])
      expect(await repo.count({ where: shifty() })).toBe(0)
      expect(await repo.updateMany(shifty(), { name: 'hijacked' })).toEqual({ count: 0 })
      expect(await snapshot()).toEqual(before)
    })

    it('treats SQL text in a string value as data', async () => {
      const repo = modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')
      expect(await repo.findMany({ where: { name: { eq: `'zz' or true` } } })).toEqual([])
      expect(await repo.count({ where: { name: [`x') or true --`] } })).toBe(0)
      expect(await repo.count({ where: { name: { contains: `' or true --` } } })).toBe(0)
      expect(await repo.count()).toBe(1)
    })
  })
}

describe('where: undefined and empty filters', () => {
  for (const mode of ['query', 'rls'] as const) {
    it(`refuses an undefined value and an empty bulk filter before any SQL (${mode} mode)`, async () => {
      const before = await snapshot()
      const repo = modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')
      roundTrips[mode]!.reset()
      const attempts: [string, () => Promise<unknown>][] = [
        ['updateMany { id: undefined }', () => repo.updateMany({ id: undefined }, { name: 'everything' })],
        ['updateMany {}', () => repo.updateMany({}, { name: 'everything' })],
        ['updateMany { eq: undefined }', () => repo.updateMany({ name: { eq: undefined } }, { name: 'everything' })],
        ['softDeleteMany { id: undefined, name: undefined }', () => repo.softDeleteMany({ id: undefined, name: undefined })],
        ['softDeleteMany {}', () => repo.softDeleteMany({})],
        ['softDeleteMany undefined', () => repo.softDeleteMany(undefined as never)],
        ['updateMany null', () => repo.updateMany(null as never, { name: 'everything' })],
        ['updateMany { or: [] }', () => repo.updateMany({ or: [] }, { name: 'everything' })],
        ['updateMany { or: [{}] }', () => repo.updateMany({ or: [{}] }, { name: 'everything' })],
        ['updateMany { not: {} }', () => repo.updateMany({ not: {} }, { name: 'everything' })],
        ['findMany { id: undefined }', () => repo.findMany({ where: { id: undefined } })],
        ['count { name: undefined }', () => repo.count({ where: { name: undefined } })],
        ['updateMany "everything"', () => repo.updateMany('everything' as never, { name: 'everything' })],
      ]
      for (const [name, attempt] of attempts) {
        const error = await attempt().then(
          () => 'succeeded',
          (e: unknown) => e,
        )
        expect(isTenantryError(error, 'VALIDATION'), name).toBe(true)
      }
      expect(roundTrips[mode]!.count).toBe(0)
      expect(await snapshot()).toEqual(before)
    })

    it(`updates and soft-deletes every row of the scope only when told 'all' (${mode} mode)`, async () => {
      const scope = modes[mode]!.withContext({ tenantId: tenantA })
      const extra = await scope.repo('projects').createMany([{ name: `all-1-${mode}` }, { name: `all-2-${mode}` }])
      const ofB = await fileDb.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()
      expect(await scope.repo('projects').updateMany('all', { status: 'paused' })).toEqual({ count: 3 })
      const ofA = await fileDb.db.selectFrom('projects').select('status').where('tenant_id', '=', tenantA).execute()
      expect(ofA.map((r) => r.status)).toEqual(['paused', 'paused', 'paused'])
      expect(await scope.repo('projects').softDeleteMany('all')).toEqual({ count: 3 })
      const live = await fileDb.db.selectFrom('projects').select('id').where('tenant_id', '=', tenantA).where('deleted_at', 'is', null).execute()
      expect(live).toEqual([])
      expect(await fileDb.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()).toEqual(ofB)
      // Put tenant A back as it was for the other tests.
      await fileDb.db
        .deleteFrom('projects')
        .where(
          'id',
          'in',
          extra.map((r) => r.id),
        )
        .execute()
      await fileDb.db.updateTable('projects').set({ deleted_at: null, status: 'active' }).where('tenant_id', '=', tenantA).execute()
    })
  }
})
