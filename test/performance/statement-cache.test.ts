import { Kysely, PostgresDialect, type KyselyPlugin } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

/**
 * `findById` and unfiltered `page` compile their statement once per table and shape and only bind
 * values per call: each shape (view, tenant or system scope, ordering, cursor) must keep its own
 * statement, and a host `db` with plugins must still see every query.
 */

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let ids: string[]

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'cache-a')
  tenantB = await insertTenant(fileDb.db, 'cache-b')
  const rows = await fileDb.db
    .insertInto('projects')
    .values(Array.from({ length: 7 }, (_, i) => ({ tenant_id: tenantA, name: `a-${i}` })))
    .returning('id')
    .execute()
  ids = rows.map((r) => r.id)
  await fileDb.db.insertInto('projects').values({ tenant_id: tenantB, name: 'b-0' }).execute()
  tenantry = makeTenantry(fileDb.pool)
})

describe('statements compiled once per shape', () => {
  it('keeps the view, the tenant and the system scope apart in findById', async () => {
    const a = tenantry.withContext({ tenantId: tenantA }).repo('projects')
    const b = tenantry.withContext({ tenantId: tenantB }).repo('projects')
    const system = tenantry.asSystem({ reason: 'statement cache test' }).repo('projects')
    const id = ids[0]!
    expect((await a.findById(id))?.name).toBe('a-0')
    expect(await b.findById(id)).toBeNull()
    expect((await system.findById(id))?.tenant_id).toBe(tenantA)
    await a.softDelete(id)
    expect(await a.findById(id)).toBeNull()
    expect((await a.onlyDeleted().findById(id))?.name).toBe('a-0')
    expect((await a.withDeleted().findById(id))?.name).toBe('a-0')
    expect(await a.onlyDeleted().findById(ids[1]!)).toBeNull()
    expect(await b.withDeleted().findById(id)).toBeNull()
    const row = await fileDb.db.selectFrom('projects').select('deleted_at').where('id', '=', id).executeTakeFirstOrThrow()
    expect(row.deleted_at).not.toBeNull()
    await a.restore(id)
  })

  it('walks every page of a tenant, in order, and only its rows', async () => {
    const a = tenantry.withContext({ tenantId: tenantA }).repo('projects')
    const seen: string[] = []
    let after: string | null = null
    for (let i = 0; i < 10; i++) {
      const page: { items: { id: string; name: string }[]; nextCursor: string | null } = await a.page({ orderBy: ['name', 'asc'], limit: 3, after })
      seen.push(...page.items.map((r) => r.name))
      after = page.nextCursor
      if (!after) break
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `a-${i}`))
    const b = await tenantry
      .withContext({ tenantId: tenantB })
      .repo('projects')
      .page({ orderBy: ['name', 'asc'], limit: 3 })
    expect(b.items.map((r) => r.name)).toEqual(['b-0'])
    const inDb = await fileDb.db.selectFrom('projects').select('name').where('tenant_id', '=', tenantA).orderBy('name').execute()
    expect(inDb.map((r) => r.name)).toEqual(seen)
  })

  it("runs every findById through a host db's plugins", async () => {
    let transformed = 0
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        transformed++
        return args.node
      },
      transformResult: async (args) => args.result,
    }
    const db = new Kysely<AppDB>({ dialect: new PostgresDialect({ pool: fileDb.pool }), plugins: [counting] })
    const hosted = createTenantry<AppDB>({ db, tables: appTables })
    const repo = hosted.withContext({ tenantId: tenantA }).repo('projects')
    await hosted.ready()
    const before = transformed
    expect((await repo.findById(ids[2]!))?.name).toBe('a-2')
    expect((await repo.findById(ids[3]!))?.name).toBe('a-3')
    expect(transformed - before).toBeGreaterThanOrEqual(2)
  })
})
