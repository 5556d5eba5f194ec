import { sql, type Compilable, type Kysely } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { defineTable, isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

/**
 * Every common builder method through `scope.db`, as Kysely's own tests do it: the compiled SQL
 * and its parameters, then the same query on PostgreSQL as tenant A, with tenant B's rows
 * checked untouched afterwards.
 */

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let db: Kysely<any>
let stateOfB: unknown

/** Tenant-scope predicate of a table (or alias) as the plugin compiles it. */
const live = (t: string, n: number) => `("${t}"."tenant_id" = $${n}::uuid and "${t}"."deleted_at" is null)`
const tenantOnly = (t: string, n: number) => `("${t}"."tenant_id" = $${n}::uuid)`

function testSql(query: Compilable, expected: { sql: string; parameters: unknown[] }): void {
  const compiled = query.compile()
  expect(compiled.sql).toBe(expected.sql)
  expect(compiled.parameters).toEqual(expected.parameters)
}

async function readStateOfB(): Promise<unknown> {
  return {
    projects: await fileDb.db.selectFrom('projects').select(['name', 'status', 'budget', 'deleted_at']).where('tenant_id', '=', tenantB).execute(),
    notes: await fileDb.db.selectFrom('notes').select('body').where('tenant_id', '=', tenantB).execute(),
    devices: await fileDb.db.selectFrom('devices').select('serial').where('tenant_id', '=', tenantB).execute(),
  }
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await sql`create unique index notes_body_key on notes (body)`.execute(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'sql-a')
  tenantB = await insertTenant(fileDb.db, 'sql-b')
  tenantry = makeTenantry(fileDb.pool)
  db = tenantry.withContext({ tenantId: tenantA }).db as Kysely<any>
})

beforeEach(async () => {
  for (const table of ['notes', 'devices', 'projects']) await fileDb.db.deleteFrom(table).execute()
  await fileDb.db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A one', status: 'active', budget: 10, tags: JSON.stringify({ color: 'red' }), created_at: new Date('2026-01-01') },
      { tenant_id: tenantA, name: 'A two', status: 'paused', budget: null, created_at: new Date('2026-01-02') },
      { tenant_id: tenantA, name: 'A gone', status: 'active', budget: 5, deleted_at: new Date() },
      { tenant_id: tenantB, name: 'B one', status: 'active', budget: 99, tags: JSON.stringify({ color: 'blue' }) },
    ])
    .execute()
  await fileDb.db
    .insertInto('notes')
    .values([
      { tenant_id: tenantA, body: 'A note' },
      { tenant_id: tenantB, body: 'B note' },
    ])
    .execute()
  await fileDb.db
    .insertInto('devices')
    .values([
      { tenant_id: tenantA, serial: 'dev-a' },
      { tenant_id: tenantB, serial: 'dev-b' },
    ])
    .execute()
  stateOfB = await readStateOfB()
})

async function expectBUntouched(): Promise<void> {
  expect(await readStateOfB()).toEqual(stateOfB)
}

describe('ordering', () => {
  it('orders by a column in both directions', async () => {
    const query = db.selectFrom('projects').select('name').orderBy('created_at', 'desc')
    testSql(query, { sql: `select "name" from "projects" where ${live('projects', 1)} order by "created_at" desc`, parameters: [tenantA] })
    expect(await query.execute()).toEqual([{ name: 'A two' }, { name: 'A one' }])
    const asc = db.selectFrom('projects').select('name').orderBy('created_at', 'asc')
    testSql(asc, { sql: `select "name" from "projects" where ${live('projects', 1)} order by "created_at" asc`, parameters: [tenantA] })
    expect(await asc.execute()).toEqual([{ name: 'A one' }, { name: 'A two' }])
    await expectBUntouched()
  })

  it('orders with nulls first and last', async () => {
    const query = db
      .selectFrom('projects')
      .select('name')
      .orderBy('budget', (ob) => ob.desc().nullsLast())
      .orderBy('name', (ob) => ob.asc().nullsFirst())
    testSql(query, {
      sql: `select "name" from "projects" where ${live('projects', 1)} order by "budget" desc nulls last, "name" asc nulls first`,
      parameters: [tenantA],
    })
    expect(await query.execute()).toEqual([{ name: 'A one' }, { name: 'A two' }])
    const first = db
      .selectFrom('projects')
      .select('name')
      .orderBy('budget', (ob) => ob.asc().nullsFirst())
    expect(await first.execute()).toEqual([{ name: 'A two' }, { name: 'A one' }])
  })

  it('keeps distinct on', async () => {
    const query = db.selectFrom('projects').distinctOn('status').select(['status', 'name']).orderBy('status').orderBy('created_at', 'desc')
    testSql(query, {
      sql: `select distinct on ("status") "status", "name" from "projects" where ${live('projects', 1)} order by "status", "created_at" desc`,
      parameters: [tenantA],
    })
    expect(await query.execute()).toEqual([
      { status: 'active', name: 'A one' },
      { status: 'paused', name: 'A two' },
    ])
  })
})

describe('aggregates and expressions', () => {
  it('scopes window functions (over)', async () => {
    const query = db
      .selectFrom('projects')
      .select((eb) => [
        'name',
        eb.fn
          .agg<number>('row_number')
          .over((ob) => ob.partitionBy('status').orderBy('created_at', 'desc'))
          .as('n'),
        eb.fn.countAll<string>().over().as('total'),
      ])
      .orderBy('name')
    testSql(query, {
      sql: `select "name", row_number() over(partition by "status" order by "created_at" desc) as "n", count(*) over() as "total" from "projects" where ${live('projects', 1)} order by "name"`,
      parameters: [tenantA],
    })
    expect(await query.execute()).toEqual([
      { name: 'A one', n: '1', total: '2' },
      { name: 'A two', n: '1', total: '2' },
    ])
  })

  it('scopes group by and having with count, sum and max', async () => {
    const query = db
      .selectFrom('projects')
      .select((eb) => ['status', eb.fn.count<string>('id').as('n'), eb.fn.sum<string>('budget').as('total'), eb.fn.max('created_at').as('latest')])
      .groupBy('status')
      .having((eb) => eb.fn.count('id'), '>', 0)
      .orderBy('status')
    testSql(query, {
      sql: `select "status", count("id") as "n", sum("budget") as "total", max("created_at") as "latest" from "projects" where ${live('projects', 1)} group by "status" having count("id") > $2 order by "status"`,
      parameters: [tenantA, 0],
    })
    const rows = await query.execute()
    expect(rows.map((r) => [r.status, r.n, r.total])).toEqual([
      ['active', '1', '10'],
      ['paused', '1', null],
    ])
  })

  it('keeps case and coalesce', async () => {
    const query = db
      .selectFrom('projects')
      .select((eb) => ['name', eb.case().when('status', '=', 'active').then(1).else(0).end().as('active'), eb.fn.coalesce('budget', eb.val(0)).as('budget')])
      .orderBy('name')
    testSql(query, {
      sql: `select "name", case when "status" = $1 then 1 else 0 end as "active", coalesce("budget", $2) as "budget" from "projects" where ${live('projects', 3)} order by "name"`,
      parameters: ['active', 0, tenantA],
    })
    expect(await query.execute()).toEqual([
      { name: 'A one', active: 1, budget: 10 },
      { name: 'A two', active: 0, budget: 0 },
    ])
  })

  it('keeps JSON operators and JSON functions; refuses the sql-built JSON helpers', async () => {
    const query = db
      .selectFrom('projects')
      .select((eb) => [
        (eb.ref('tags', '->>') as any).key('color').as('color'),
        eb.fn('jsonb_build_object', [eb.cast(eb.val('name'), 'text'), 'name']).as('doc'),
      ])
      .orderBy('name')
    testSql(query, {
      sql: `select "tags"->>'color' as "color", jsonb_build_object(cast($1 as text), "name") as "doc" from "projects" where ${live('projects', 2)} order by "name"`,
      parameters: ['name', tenantA],
    })
    expect(await query.execute()).toEqual([
      { color: 'red', doc: { name: 'A one' } },
      { color: null, doc: { name: 'A two' } },
    ])
    const helper = db.selectFrom('projects as p').select((eb: any) => jsonArrayFrom(eb.selectFrom('notes').select('body')).as('notes'))
    await expect(helper.execute()).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('jsonArrayFrom') })
  })
})

describe('joins and composition', () => {
  it('scopes inner and left lateral joins with on true', async () => {
    const inner = db
      .selectFrom('notes as n')
      .innerJoinLateral(
        (eb) => eb.selectFrom('projects as p').select('p.name').whereRef('p.tenant_id', '=', 'n.tenant_id').orderBy('p.name').limit(1).as('l'),
        (j) => j.onTrue(),
      )
      .select(['n.body', 'l.name'])
    testSql(inner, {
      sql: `select "n"."body", "l"."name" from "notes" as "n" inner join lateral (select "p"."name" from "projects" as "p" where ("p"."tenant_id" = "n"."tenant_id") and ${live('p', 1)} order by "p"."name" limit $2) as "l" on true where ${tenantOnly('n', 3)}`,
      parameters: [tenantA, 1, tenantA],
    })
    expect(await inner.execute()).toEqual([{ body: 'A note', name: 'A one' }])
    const left = db
      .selectFrom('notes as n')
      .leftJoinLateral(
        (eb) => eb.selectFrom('projects as p').select('p.name').as('l'),
        (j) => j.onTrue(),
      )
      .select(['n.body', 'l.name'])
      .orderBy('l.name')
    testSql(left, {
      sql: `select "n"."body", "l"."name" from "notes" as "n" left join lateral (select "p"."name" from "projects" as "p" where ${live('p', 1)}) as "l" on true where ${tenantOnly('n', 2)} order by "l"."name"`,
      parameters: [tenantA, tenantA],
    })
    expect(await left.execute()).toEqual([
      { body: 'A note', name: 'A one' },
      { body: 'A note', name: 'A two' },
    ])
  })

  it('scopes subqueries, CTEs and unions', async () => {
    const subquery = db
      .selectFrom('projects')
      .select('name')
      .where('id', 'in', (eb: any) => eb.selectFrom('devices').select('id'))
    testSql(subquery, {
      sql: `select "name" from "projects" where ("id" in (select "id" from "devices" where ("devices"."tenant_id" = $1::uuid and "devices"."is_active" is distinct from false))) and ${live('projects', 2)}`,
      parameters: [tenantA, tenantA],
    })
    expect(await subquery.execute()).toEqual([])
    const cte = db
      .with('mine', (q) => q.selectFrom('projects').select('name'))
      .selectFrom('mine')
      .select('name')
      .orderBy('name')
    testSql(cte, {
      sql: `with "mine" as (select "name" from "projects" where ${live('projects', 1)}) select "name" from "mine" order by "name"`,
      parameters: [tenantA],
    })
    expect(await cte.execute()).toEqual([{ name: 'A one' }, { name: 'A two' }])
    const union = db.selectFrom('projects').select('name').union(db.selectFrom('notes').select('body as name')).orderBy('name')
    testSql(union, {
      sql: `select "name" from "projects" where ${live('projects', 1)} union select "body" as "name" from "notes" where ${tenantOnly('notes', 2)} order by "name"`,
      parameters: [tenantA, tenantA],
    })
    expect(await union.execute()).toEqual([{ name: 'A note' }, { name: 'A one' }, { name: 'A two' }])
  })
})

describe('writes', () => {
  it('scopes update ... returning', async () => {
    const query = db.updateTable('projects').set({ status: 'archived' }).where('status', '=', 'active').returning(['name', 'status'])
    testSql(query, {
      sql: `update "projects" set "status" = $1 where ("status" = $2) and ${live('projects', 3)} returning "name", "status"`,
      parameters: ['archived', 'active', tenantA],
    })
    expect(await query.execute()).toEqual([{ name: 'A one', status: 'archived' }])
    await expectBUntouched()
  })

  it('fills the tenant on insert ... on conflict do nothing, and guards do update', async () => {
    const nothing = db
      .insertInto('notes')
      .values({ body: 'B note' })
      .onConflict((oc) => oc.column('body').doNothing())
      .returning('body')
    testSql(nothing, {
      sql: `insert into "notes" ("body", "tenant_id") values ($1, $2) on conflict ("body") do nothing returning "body"`,
      parameters: ['B note', tenantA],
    })
    expect(await nothing.execute()).toEqual([])
    const update = db
      .insertInto('notes')
      .values({ body: 'B note' })
      .onConflict((oc) => oc.column('body').doUpdateSet({ body: 'taken' }))
      .returning('body')
    testSql(update, {
      sql: `insert into "notes" ("body", "tenant_id") values ($1, $2) on conflict ("body") do update set "body" = $3 where ${tenantOnly('notes', 4)} returning "body"`,
      parameters: ['B note', tenantA, 'taken', tenantA],
    })
    expect(await update.execute()).toEqual([])
    const own = await db
      .insertInto('notes')
      .values({ body: 'A note' })
      .onConflict((oc) => oc.column('body').doUpdateSet({ body: 'A note!' }))
      .returning('body')
      .execute()
    expect(own).toEqual([{ body: 'A note!' }])
    await expectBUntouched()
  })

  it('scopes insert ... select and adds the tenant column', async () => {
    const query = db
      .insertInto('notes')
      .columns(['body'])
      .expression((eb) => eb.selectFrom('projects').select('name'))
    testSql(query, {
      sql: `insert into "notes" ("body", "tenant_id") select "tenantry_insert_source".*, cast($1 as uuid) as "tenant_id" from (select "name" from "projects" where ${live('projects', 2)}) as "tenantry_insert_source"`,
      parameters: [tenantA, tenantA],
    })
    await query.execute()
    const notes = await fileDb.db.selectFrom('notes').select(['tenant_id', 'body']).orderBy('body').execute()
    expect(notes).toEqual([
      { tenant_id: tenantA, body: 'A note' },
      { tenant_id: tenantA, body: 'A one' },
      { tenant_id: tenantA, body: 'A two' },
      { tenant_id: tenantB, body: 'B note' },
    ])
  })

  it('scopes update ... from and delete ... using', async () => {
    await fileDb.db.insertInto('notes').values({ tenant_id: tenantB, body: 'A one' }).execute()
    stateOfB = await readStateOfB()
    const update = db.updateTable('notes').from('projects').set({ body: 'matched' }).whereRef('notes.body', '=', 'projects.name')
    testSql(update, {
      sql: `update "notes" set "body" = $1 from "projects" where ("notes"."body" = "projects"."name") and ${tenantOnly('notes', 2)} and ${live('projects', 3)}`,
      parameters: ['matched', tenantA, tenantA],
    })
    await fileDb.db.insertInto('notes').values({ tenant_id: tenantA, body: 'A two' }).execute()
    expect((await update.executeTakeFirst()).numUpdatedRows).toBe(1n)
    const remove = db.deleteFrom('notes').using('projects').whereRef('notes.tenant_id', '=', 'projects.tenant_id')
    testSql(remove, {
      sql: `delete from "notes" using "projects" where ("notes"."tenant_id" = "projects"."tenant_id") and ${tenantOnly('notes', 1)} and ${live('projects', 2)}`,
      parameters: [tenantA, tenantA],
    })
    await remove.execute()
    expect(await fileDb.db.selectFrom('notes').select('body').where('tenant_id', '=', tenantA).execute()).toEqual([])
    await expectBUntouched()
  })
})

describe('bundled tables', () => {
  it('reads users through a subquery of their public columns, and roles with the system ones', async () => {
    const users = db.selectFrom('tenantry.users').select('email')
    const compiled = users.compile()
    expect(compiled.sql).toMatch(
      /^select "email" from \(select "id", "email", "external_id", "display_name", "status", "last_login_at", "metadata", "created_at", "updated_at", "deleted_at" from "tenantry"\."users" where \(exists \(select 1 from "tenantry"\."memberships" as m/,
    )
    expect(compiled.parameters).toEqual([tenantA])
    const roles = db.selectFrom('tenantry.roles').select('name')
    testSql(roles, {
      sql: `select "name" from "tenantry"."roles" where (("roles"."deleted_at" is null) and ("roles"."tenant_id" = $1::uuid or "roles"."tenant_id" is null))`,
      parameters: [tenantA],
    })
    expect(await users.execute()).toEqual([])
  })
})

describe('host tables named like bundled ones', () => {
  it('scopes a declared host roles table by its own declaration and keeps tenantry.roles apart', async () => {
    await sql`create table public.roles (id uuid primary key default gen_random_uuid(), tenant_id uuid not null, name text not null)`.execute(fileDb.db)
    await fileDb.db
      .insertInto('public.roles')
      .values([
        { tenant_id: tenantA, name: 'host A' },
        { tenant_id: tenantB, name: 'host B' },
      ])
      .execute()
    const host = makeTenantry(fileDb.pool, { tables: { roles: defineTable<any, 'roles'>({ table: 'roles' }) } as never })
    const scoped = host.withContext({ tenantId: tenantA }).db as Kysely<any>
    const own = scoped.selectFrom('roles').select('name')
    testSql(own, { sql: `select "name" from "roles" where ${tenantOnly('roles', 1)}`, parameters: [tenantA] })
    expect(await own.execute()).toEqual([{ name: 'host A' }])
    const bundled = scoped.selectFrom('tenantry.roles').select('name')
    testSql(bundled, {
      sql: `select "name" from "tenantry"."roles" where (("roles"."deleted_at" is null) and ("roles"."tenant_id" = $1::uuid or "roles"."tenant_id" is null))`,
      parameters: [tenantA],
    })
    expect((await bundled.execute()).map((r) => r.name)).not.toContain('host B')
    await sql`drop table public.roles`.execute(fileDb.db)
  })

  it("refuses an unqualified sessions (tenantry's through a search_path) and reads a qualified host one", async () => {
    await sql`create table public.sessions (id serial primary key, label text not null)`.execute(fileDb.db)
    await fileDb.db.insertInto('public.sessions').values({ label: 'host session' }).execute()
    await expect(db.selectFrom('sessions').selectAll().execute()).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('public.sessions'),
    })
    expect(await db.selectFrom('public.sessions').select('label').execute()).toEqual([{ label: 'host session' }])
    await sql`drop table public.sessions`.execute(fileDb.db)
  })
})

describe('more builder methods', () => {
  it('scopes cross join lateral, for update and explain', async () => {
    const lateral = (db.selectFrom('notes as n') as any)
      .crossJoinLateral((eb: any) => eb.selectFrom('projects as p').select('p.name').as('l'))
      .select('l.name')
      .orderBy('l.name')
    testSql(lateral, {
      sql: `select "l"."name" from "notes" as "n" cross join lateral (select "p"."name" from "projects" as "p" where ${live('p', 1)}) as "l" where ${tenantOnly('n', 2)} order by "l"."name"`,
      parameters: [tenantA, tenantA],
    })
    expect(await lateral.execute()).toEqual([{ name: 'A one' }, { name: 'A two' }])
    const locked = tenantry
      .withContext({ tenantId: tenantA })
      .transaction(async (tx) => tx.db.selectFrom('projects').select('name').orderBy('name').forUpdate().execute())
    expect(await locked).toEqual([{ name: 'A one' }, { name: 'A two' }])
    const plan = await db.selectFrom('projects').select('name').explain('json')
    expect(JSON.stringify(plan)).toContain('tenant_id')
  })
})

describe('refusals name the construct', () => {
  it.each([
    ['raw sql', () => db.selectFrom('projects').select(sql<string>`name`.as('n')), /raw `sql`/],
    ['modifyEnd', () => db.selectFrom('projects').selectAll().modifyEnd(sql`for update`), /raw `sql`/],
    ['a function not on the list', () => db.selectNoFrom((eb) => eb.fn('lo_import', [eb.val('/etc/passwd')]).as('x')), /"lo_import" is refused/],
    ['an unknown function', () => db.selectNoFrom((eb) => eb.fn('my_report', []).as('x')), /"my_report" is not on scope\.db's list/],
    ["tenantry's functions", () => db.selectNoFrom((eb) => eb.fn('tenantry.tokens_find', [eb.val('x')]).as('x')), /one of tenantry's own functions/],
    ['sessions', () => db.selectFrom('tenantry.sessions').selectAll(), /tenantry\.sessions is refused/],
    ['writes to bundled tables', () => db.updateTable('tenantry.memberships').set({ status: 'active' }), /bundled tables are read-only.*scope\.memberships/],
    ['merge', () => db.mergeInto('notes').using('projects', 'projects.tenant_id', 'notes.tenant_id').whenMatched().thenDelete(), /merge is not supported/],
    ['DDL', () => db.schema.dropTable('notes'), /DropTable statements \(scope\.db\.schema\) are refused/],
  ] as const)('%s', async (_name, build, message) => {
    const error = await (async () => build().execute())().catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(message)
    expect(await fileDb.db.selectFrom('notes').select('body').orderBy('body').execute()).toEqual([{ body: 'A note' }, { body: 'B note' }])
  })

  it('allows functions the host lists in allowFunctions, never the refused ones', async () => {
    await sql`create function public.shout(t text) returns text language sql immutable as 'select upper(t)'`.execute(fileDb.db)
    const scope = tenantry.withContext({ tenantId: tenantA })
    const rows = await scope
      .scopedDb({ allowFunctions: ['public.shout'] })
      .selectFrom('notes')
      .select((eb) => eb.fn<string>('public.shout', ['body']).as('loud'))
      .execute()
    expect(rows).toEqual([{ loud: 'A NOTE' }])
    await expect(
      scope.db
        .selectFrom('notes')
        .select((eb) => eb.fn<string>('public.shout', ['body']).as('loud'))
        .execute(),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
    await expect(
      scope
        .scopedDb({ allowFunctions: ['set_config'] })
        .selectNoFrom((eb) => eb.fn('set_config', [eb.val('tenantry.system'), eb.val('on'), eb.val(true)]).as('x'))
        .execute(),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })
})
