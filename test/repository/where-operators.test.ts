import { randomUUID } from 'node:crypto'
import { sql, type Selectable } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, isTenantryError, type Tenantry, type WhereFilter } from '../../src/index.js'
import { compileWhere } from '../../src/repository/where-filter.js'
import type { ColumnInfo, TableModel } from '../../src/schema/table-model.js'
import { createAppRole } from '../isolation/support/app-role.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
const modes: Record<string, Tenantry<AppDB>> = {}
let tenantA: string
let tenantB: string

type ProjectRow = Selectable<AppDB['projects']>

const names = ['Alpha API', 'beta-api', 'Gamma', '50% off', '500 off', 'a_b', 'axb', 'back\\slash', 'Ann@X.io']

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'ops-a')
  tenantB = await insertTenant(fileDb.db, 'ops-b')
  // Tenant B holds the same names: every result below must still be tenant A's rows only.
  await fileDb.db
    .insertInto('projects')
    .values(
      [tenantA, tenantB].flatMap((tenant_id) =>
        names.map((name, i) => ({ tenant_id, name, budget: i * 10, status: i % 2 === 0 ? 'active' : 'paused', tags: JSON.stringify({ n: i }) })),
      ),
    )
    .execute()
  const owner = makeTenantry(fileDb.pool, { isolation: 'rls' })
  await owner.rls.enable()
  const role = await createAppRole(fileDb)
  modes.query = makeTenantry(fileDb.pool)
  modes.rls = makeTenantry(role.pool, { isolation: 'rls' })
})

function column(name: string, type: string): [string, ColumnInfo] {
  return [name, { name, type, nullable: true, hasDefault: false }]
}

const model: TableModel = {
  name: 'projects',
  schema: 'public',
  table: 'projects',
  primaryKey: 'id',
  tenantColumn: 'tenant_id',
  softDelete: { kind: 'timestamp', column: 'deleted_at' },
  auditEnabled: false,
  redacted: [],
  definition: { table: 'projects' },
  updateSideEffects: [],
  columns: new Map([column('id', 'uuid'), column('name', 'text'), column('budget', 'int4'), column('tags', 'jsonb'), column('email', 'text')]),
  caseInsensitive: ['email'],
}

function compiled(where: unknown): { sql: string; parameters: readonly unknown[] } {
  const parts = compileWhere(model, 't', where, 'projects.findMany')
  const query = sql`select 1 from projects as t where ${sql.join(parts, sql` and `)}`.compile(fileDb.db)
  return { sql: query.sql.replace('select 1 from projects as t where ', ''), parameters: query.parameters }
}

describe('compiled where SQL', () => {
  it('parenthesises every predicate and binds every value', () => {
    expect(compiled({ name: 'x', budget: null })).toEqual({ sql: '("t"."name" = $1) and ("t"."budget" is null)', parameters: ['x'] })
    expect(compiled({ budget: { gt: 1, lte: 5 } })).toEqual({ sql: '("t"."budget" > $1) and ("t"."budget" <= $2)', parameters: [1, 5] })
    expect(compiled({ name: { ne: 'x' } }).sql).toBe('("t"."name" is distinct from $1)')
    expect(compiled({ name: { ne: null } }).sql).toBe('("t"."name" is not null)')
  })

  it('binds an in list as one array parameter', () => {
    expect(compiled({ name: ['a', 'b', 'c'] })).toEqual({ sql: '("t"."name" = any($1))', parameters: [['a', 'b', 'c']] })
    expect(compiled({ budget: { notIn: [1, 2] } })).toEqual({ sql: '(not ("t"."budget" = any($1)))', parameters: [[1, 2]] })
  })

  it('escapes LIKE metacharacters in contains, startsWith and endsWith', () => {
    expect(compiled({ name: { contains: '50%_\\' } })).toEqual({ sql: `("t"."name" like $1 escape '\\')`, parameters: ['%50\\%\\_\\\\%'] })
    expect(compiled({ name: { startsWith: 'ab', mode: 'insensitive' } })).toEqual({ sql: `("t"."name" ilike $1 escape '\\')`, parameters: ['ab%'] })
    expect(compiled({ name: { endsWith: 'ab' } }).parameters).toEqual(['%ab'])
    expect(compiled({ name: { like: 'a%' } })).toEqual({ sql: '("t"."name" like $1)', parameters: ['a%'] })
  })

  it('compares lower() of both sides for insensitive equality, and by default on case-insensitive columns', () => {
    expect(compiled({ name: { eq: 'Ann', mode: 'insensitive' } })).toEqual({ sql: '(lower("t"."name") = lower($1))', parameters: ['Ann'] })
    expect(compiled({ email: 'Ann@X.io' })).toEqual({ sql: '(lower("t"."email") = lower($1))', parameters: ['Ann@X.io'] })
    expect(compiled({ email: { eq: 'Ann@X.io', mode: 'sensitive' } }).sql).toBe('("t"."email" = $1)')
    expect(compiled({ email: ['A@x.io'] }).sql).toBe('(lower("t"."email") = any(array(select lower(v) from unnest($1::text[]) as v)))')
  })

  it('nests or, and and not in parentheses', () => {
    expect(compiled({ or: [{ name: 'a', budget: 1 }, { not: { name: 'b' } }], and: [{ budget: { gt: 0 } }] })).toEqual({
      sql: '((("t"."name" = $1) and ("t"."budget" = $2)) or (not ("t"."name" = $3))) and (("t"."budget" > $4))',
      parameters: ['a', 1, 'b', 0],
    })
  })

  it('compares JSON columns as jsonb', () => {
    expect(compiled({ tags: { a: 1 } })).toEqual({ sql: '("t"."tags" = $1::jsonb)', parameters: ['{"a":1}'] })
    expect(compiled({ tags: { eq: [1, 2] } }).parameters).toEqual(['[1,2]'])
  })
})

for (const mode of ['query', 'rls'] as const) {
  describe(`where operators on PostgreSQL (${mode} mode)`, () => {
    const repo = () => modes[mode]!.withContext({ tenantId: tenantA }).repo('projects')
    const find = async (where: WhereFilter<ProjectRow>) => {
      const rows = await repo().findMany({ where })
      expect(rows.every((r) => r.tenant_id === tenantA)).toBe(true)
      // Sorted here: the database's collation may order mixed case differently.
      return rows.map((r) => r.name).sort()
    }

    it('compares with eq, ne, gt, gte, lt, lte, in, notIn and null', async () => {
      expect(await find({ name: 'Gamma' })).toEqual(['Gamma'])
      expect(await find({ name: { eq: 'gamma' } })).toEqual([])
      expect(await find({ budget: { gte: 70 } })).toEqual(['Ann@X.io', 'back\\slash'])
      expect(await find({ budget: { gt: 70, lt: 90 } })).toEqual(['Ann@X.io'])
      expect(await find({ budget: { lte: 10 } })).toEqual(['Alpha API', 'beta-api'])
      expect(await find({ name: { in: ['Gamma', 'axb', 'nope'] } })).toEqual(['Gamma', 'axb'])
      expect(await find({ budget: { notIn: [0, 10, 20, 30, 40, 50, 60] } })).toEqual(['Ann@X.io', 'back\\slash'])
      expect(await find({ name: { ne: 'Gamma' }, status: 'active' })).toEqual(['500 off', 'Alpha API', 'Ann@X.io', 'axb'])
      expect(await find({ slug: null, name: 'Gamma' })).toEqual(['Gamma'])
      expect(await find({ name: [] })).toEqual([])
    })

    it('searches with contains, startsWith and endsWith, escaping %, _ and backslash', async () => {
      expect(await find({ name: { contains: 'api' } })).toEqual(['beta-api'])
      expect(await find({ name: { contains: 'api', mode: 'insensitive' } })).toEqual(['Alpha API', 'beta-api'])
      expect(await find({ name: { startsWith: '50%' } })).toEqual(['50% off'])
      expect(await find({ name: { contains: '_' } })).toEqual(['a_b'])
      expect(await find({ name: { contains: '\\' } })).toEqual(['back\\slash'])
      expect(await find({ name: { endsWith: 'API' } })).toEqual(['Alpha API'])
      expect(await find({ name: { endsWith: 'API', mode: 'insensitive' } })).toEqual(['Alpha API', 'beta-api'])
      expect(await find({ name: { startsWith: 'ALPHA', mode: 'insensitive' } })).toEqual(['Alpha API'])
      // like/ilike take a pattern as written.
      expect(await find({ name: { like: 'a_b' } })).toEqual(['a_b', 'axb'])
      expect(await find({ name: { ilike: 'GAM%' } })).toEqual(['Gamma'])
    })

    it('compares case-insensitively with mode: insensitive', async () => {
      expect(await find({ name: { eq: 'ann@x.IO', mode: 'insensitive' } })).toEqual(['Ann@X.io'])
      expect(await find({ name: { in: ['GAMMA', 'AXB'], mode: 'insensitive' } })).toEqual(['Gamma', 'axb'])
      expect(await find({ name: { notIn: ['gamma'], mode: 'insensitive' }, status: 'active' })).toEqual(['500 off', 'Alpha API', 'Ann@X.io', 'axb'])
      expect(await find({ name: { ne: 'GAMMA', mode: 'insensitive' }, budget: { lte: 20 } })).toEqual(['Alpha API', 'beta-api'])
    })

    it('composes or, and and not, nested', async () => {
      expect(await find({ or: [{ name: 'Gamma' }, { budget: 80 }] })).toEqual(['Ann@X.io', 'Gamma'])
      expect(await find({ or: [{ name: { startsWith: 'a' } }, { and: [{ status: 'paused' }, { budget: { gt: 60 } }] }] })).toEqual([
        'a_b',
        'axb',
        'back\\slash',
      ])
      expect(await find({ not: { or: [{ status: 'active' }, { name: { contains: 'a' } }] } })).toEqual(['50% off'])
      expect(await find({ status: 'active', not: { budget: { gt: 0 } } })).toEqual(['Alpha API'])
      // A `not` over a nullable column keeps SQL's rule: a null comparison is not true, nor is its negation.
      expect(await find({ not: { slug: 'x' } })).toEqual([])
    })

    it('filters JSON columns by value', async () => {
      expect(await find({ tags: { n: 2 } })).toEqual(['Gamma'])
      expect(await find({ tags: { in: [{ n: 1 }, { n: 3 }] } })).toEqual(['50% off', 'beta-api'])
    })

    it('updates only the rows a composed filter matches, in the own tenant', async () => {
      const ofB = await fileDb.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()
      const result = await repo().updateMany({ or: [{ name: { contains: 'OFF', mode: 'insensitive' } }, { name: 'Gamma' }] }, { secret: `upd-${mode}` })
      expect(result).toEqual({ count: 3 })
      const changed = await fileDb.db.selectFrom('projects').select(['name', 'tenant_id']).where('secret', '=', `upd-${mode}`).execute()
      expect(changed.sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(['50% off', '500 off', 'Gamma'].map((name) => ({ name, tenant_id: tenantA })))
      expect(await fileDb.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantB).orderBy('id').execute()).toEqual(ofB)
    })

    it('takes an in list of 70,000 values as one parameter', async () => {
      const [gamma] = await fileDb.db.selectFrom('projects').select('id').where('tenant_id', '=', tenantA).where('name', '=', 'Gamma').execute()
      const [gammaOfB] = await fileDb.db.selectFrom('projects').select('id').where('tenant_id', '=', tenantB).where('name', '=', 'Gamma').execute()
      const ids = Array.from({ length: 70_000 }, () => randomUUID())
      ids.push(gamma!.id, gammaOfB!.id)
      expect(await find({ id: ids })).toEqual(['Gamma'])
      expect(await repo().count({ where: { id: { notIn: ids } } })).toBe(names.length - 1)
      expect(await repo().updateMany({ id: { in: ids } }, { slug: `big-${mode}` })).toEqual({ count: 1 })
      const slugged = await fileDb.db.selectFrom('projects').select('id').where('slug', '=', `big-${mode}`).execute()
      expect(slugged).toEqual([{ id: gamma!.id }])
      await fileDb.db.updateTable('projects').set({ slug: null }).where('id', '=', gamma!.id).execute()
      const budgets = Array.from({ length: 70_000 }, (_, i) => i * 10 + 5)
      expect(await repo().count({ where: { budget: { in: [...budgets, 20] } } })).toBe(1)
    })

    it('refuses operators that do not fit the column, with VALIDATION naming it', async () => {
      const attempts: [string, Record<string, unknown>][] = [
        ['contains on an integer', { budget: { contains: '1' } }],
        ['mode on an integer', { budget: { eq: 1, mode: 'insensitive' } }],
        ['gt with mode insensitive', { name: { gt: 'a', mode: 'insensitive' } }],
        ['unknown mode', { name: { eq: 'a', mode: 'loose' } }],
        ['unknown operator', { name: { between: ['a', 'b'] } }],
        ['in without an array', { name: { in: 'a' } }],
        ['contains with a number', { name: { contains: 1 } }],
        ['empty operator object', { name: {} }],
        ['NUL byte', { name: 'a\u0000b' }],
        ['invalid date', { created_at: { gt: new Date('nope') } }],
        ['array value outside in', { budget: { eq: [1] } }],
        ['function in JSON', { tags: { eq: { f: () => 1 } } }],
      ]
      for (const [name, where] of attempts) {
        const error = await repo()
          .findMany({ where: where as never })
          .catch((e: unknown) => e)
        expect(isTenantryError(error, 'VALIDATION'), name).toBe(true)
        expect((error as { column?: string }).column, name).toBe(Object.keys(where)[0])
      }
      for (const where of [{ or: {} }, { or: [] }, { and: [{}] }, { not: [] }, { not: 'x' }]) {
        await expect(repo().findMany({ where: where as never })).rejects.toMatchObject({ code: 'VALIDATION' })
      }
      const cyclic: Record<string, unknown> = { name: 'x' }
      cyclic.or = [cyclic]
      await expect(repo().findMany({ where: cyclic as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    })
  })
}

describe('users by e-mail', () => {
  it('finds an account whatever the case of the e-mail, as the unique key on lower(email) does', async () => {
    const tenantry = modes.query!
    const system = tenantry.asSystem({ reason: 'test: users by e-mail' })
    const user = await system.users.create({ email: 'Ann.Mixed@Example.IO', display_name: 'Ann' })
    await system.memberships.create({ tenant_id: tenantA, user_id: user.id })
    expect((await system.users.findOne({ where: { email: 'ann.mixed@example.io' } }))?.id).toBe(user.id)
    expect((await system.users.findMany({ where: { email: ['ANN.MIXED@EXAMPLE.IO', 'x@y.z'] } })).map((u) => u.id)).toEqual([user.id])
    expect(await system.users.exists({ where: { email: { eq: 'ann.mixed@example.io', mode: 'sensitive' } } })).toBe(false)
    expect(await system.users.count({ where: { email: { endsWith: '@EXAMPLE.io' } } })).toBe(1)
    // Ranges compare as stored ('A' < 'a'), even on the case-insensitive column.
    expect(await system.users.count({ where: { email: { gte: 'Ann.Mixed@', lt: 'Ann.Mixed@~' } } })).toBe(1)
    await expect(system.users.count({ where: { email: { gt: 'a', mode: 'insensitive' } } })).rejects.toMatchObject({ code: 'VALIDATION', column: 'email' })
    for (const mode of ['query', 'rls'] as const) {
      const scope = modes[mode]!.withContext({ tenantId: tenantA })
      expect((await scope.users.findOne({ where: { email: 'ANN.MIXED@example.io' } }))?.id, mode).toBe(user.id)
      expect(await modes[mode]!.withContext({ tenantId: tenantB }).users.findOne({ where: { email: 'ann.mixed@example.io' } }), mode).toBeNull()
    }
    // The same lookup is what a second account with another case collides with.
    const duplicate = await system.users.create({ email: 'ANN.MIXED@example.io' }).catch((e: unknown) => e)
    expect(isTenantryError(duplicate, 'UNIQUE_VIOLATION')).toBe(true)
  })
})

describe('index use of case-insensitive e-mail lookups', () => {
  it('can serve lower(email) = lower($1) and the in-list form from users_email_live_key', async () => {
    const users: TableModel = { ...model, schema: 'tenantry', table: 'users', name: 'users', tenantColumn: null }
    for (const where of [{ email: 'Ann@X.io' }, { email: ['Ann@X.io', 'b@y.z'] }]) {
      const parts = compileWhere(users, 't', where, 'users.findMany')
      const plan = await fileDb.db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx)
        const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (format json) select * from tenantry.users as t
          where t.deleted_at is null and ${sql.join(parts, sql` and `)}`.execute(trx)
        return JSON.stringify(rows[0]!['QUERY PLAN'])
      })
      expect(plan).toContain('users_email_live_key')
    }
  })
})

describe('column names in composed filters', () => {
  it('checks columns inside or, and and not against the table', async () => {
    const repo = modes.query!.withContext({ tenantId: tenantA }).repo('projects')
    for (const where of [{ or: [{ name: 'x' }, { nope: 1 }] }, { and: [{ 'name; drop table projects': 1 }] }, { not: { or: [{ secretz: 'x' }] } }]) {
      const error = await repo.findMany({ where: where as never }).catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
      expect((error as { column?: string }).column).toMatch(/nope|drop table|secretz/)
    }
  })

  it('reads or, and and not as composition even when the table has a column of that name', async () => {
    await sql`create table odd_names (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, "or" text, label text)`.execute(fileDb.db)
    await sql`insert into odd_names (tenant_id, "or", label) values (${tenantA}, 'x', 'one')`.execute(fileDb.db)
    const odd = createTenantry<any>({ pool: fileDb.pool, tables: { odd_names: defineTable({ table: 'odd_names' }) } })
    const repo = odd.withContext({ tenantId: tenantA }).repo('odd_names')
    await expect(repo.findMany({ where: { or: 'x' } as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await repo.findMany({ where: { or: [{ label: 'one' }] } })).map((r) => r.label)).toEqual(['one'])
  })
})

describe('where types', () => {
  it('offers text operators on text columns only', () => {
    const ok: WhereFilter<ProjectRow> = { name: { contains: 'a', mode: 'insensitive' }, or: [{ budget: { gt: 1 } }], not: { status: 'x' } }
    // @ts-expect-error contains is a text operator; budget is a number
    const wrong: WhereFilter<ProjectRow> = { budget: { contains: '1' } }
    // @ts-expect-error mode belongs to text columns
    const wrongMode: WhereFilter<ProjectRow> = { budget: { eq: 1, mode: 'insensitive' } }
    expect([ok, wrong, wrongMode]).toHaveLength(3)
  })
})
