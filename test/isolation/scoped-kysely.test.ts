import { sql, CompiledQuery, type Generated } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { defineTable, isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

interface DB extends AppDB {
  tasks: { id: Generated<string>; tenant_id: string; project_id: string | null; title: string; deleted_at: Date | null }
}

const fileDb = await useFileDatabase()
let tenantry: Tenantry<DB>
let tenantA: string
let tenantB: string
let projectA: string
let projectB: string

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(isTenantryError(error), String(error)).toBe(true)
  expect((error as { code: string }).code).toBe(code)
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await sql`create table tasks (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      project_id uuid references projects (id),
      title text not null,
      deleted_at timestamptz)`.execute(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'scoped-a')
  tenantB = await insertTenant(fileDb.db, 'scoped-b')
  tenantry = makeTenantry(fileDb.pool, {
    tables: { ...appTables, tasks: defineTable<DB, 'tasks'>({ table: 'tasks', softDelete: 'deleted_at' }) as never },
  }) as unknown as Tenantry<DB>
})

beforeEach(async () => {
  await fileDb.db.deleteFrom('tasks').execute()
  await fileDb.db.deleteFrom('projects').execute()
  const rows = await fileDb.db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A live', slug: 'same' },
      { tenant_id: tenantA, name: 'A deleted', slug: 'a-gone', deleted_at: new Date() },
      { tenant_id: tenantB, name: 'B live', slug: 'same' },
    ])
    .returning(['id', 'name'])
    .execute()
  projectA = rows.find((r) => r.name === 'A live')!.id
  projectB = rows.find((r) => r.name === 'B live')!.id
  await fileDb.db
    .insertInto('tasks')
    .values([
      { tenant_id: tenantA, project_id: projectA, title: 'A task' },
      { tenant_id: tenantA, project_id: projectA, title: 'A deleted task', deleted_at: new Date() },
      { tenant_id: tenantB, project_id: projectB, title: 'B task' },
      // A row of B pointing at A's project: joins from A must still not reveal it.
      { tenant_id: tenantB, project_id: projectA, title: 'B task on A project' },
    ])
    .execute()
})

describe('scope.db reads', () => {
  it('hides other tenants and soft-deleted rows from a plain select', async () => {
    const rows = await tenantry.withContext({ tenantId: tenantA }).db.selectFrom('projects').select('name').execute()
    expect(rows.map((r) => r.name)).toEqual(['A live'])
  })

  it('scopes both sides of an inner join and of a left join', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    const inner = await db.selectFrom('projects as p').innerJoin('tasks as t', 't.project_id', 'p.id').select(['p.name', 't.title']).execute()
    expect(inner).toEqual([{ name: 'A live', title: 'A task' }])
    const left = await db.selectFrom('projects as p').leftJoin('tasks as t', 't.project_id', 'p.id').select(['p.name', 't.title']).execute()
    expect(left).toEqual([{ name: 'A live', title: 'A task' }])
  })

  it('keeps right and full joins from showing the other tenant through the null-extended side', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    const right = await db.selectFrom('projects as p').rightJoin('tasks as t', 't.project_id', 'p.id').select(['p.name', 't.title']).execute()
    expect(right).toEqual([{ name: 'A live', title: 'A task' }])
    const full = await db.selectFrom('projects as p').fullJoin('tasks as t', 't.project_id', 'p.id').select(['p.name', 't.title']).execute()
    expect(full).toEqual([{ name: 'A live', title: 'A task' }])
  })

  it('scopes subqueries in where and select, CTEs and unions', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    const viaIn = await db
      .selectFrom('projects')
      .select('name')
      .where('id', 'in', (eb) => eb.selectFrom('tasks').select('project_id'))
      .execute()
    expect(viaIn.map((r) => r.name)).toEqual(['A live'])
    const counted = await db
      .selectFrom('projects as p')
      .select((eb) => [
        'p.name',
        eb
          .selectFrom('tasks as t')
          .whereRef('t.project_id', '=', 'p.id')
          .select((e) => e.fn.countAll<string>().as('n'))
          .as('tasks'),
      ])
      .execute()
    expect(counted).toEqual([{ name: 'A live', tasks: '1' }])
    const cte = await db
      .with('mine', (qb) => qb.selectFrom('tasks').select(['project_id', 'title']))
      .selectFrom('mine')
      .select('title')
      .execute()
    expect(cte.map((r) => r.title)).toEqual(['A task'])
    const union = await db.selectFrom('projects').select('name').union(db.selectFrom('tasks').select('title as name')).orderBy('name').execute()
    expect(union.map((r) => r.name)).toEqual(['A live', 'A task'])
  })

  it('scopes bundled tables too: a tenant sees only its own tenants row', async () => {
    const rows = await tenantry
      .withContext({ tenantId: tenantA })
      .db.selectFrom('tenantry.tenants' as never)
      .select('slug' as never)
      .execute()
    expect(rows).toEqual([{ slug: 'scoped-a' }])
  })

  it('shows soft-deleted rows only when asked', async () => {
    const scope = tenantry.withContext({ tenantId: tenantA })
    const all = await scope.scopedDb({ view: 'all' }).selectFrom('projects').select('name').orderBy('name').execute()
    expect(all.map((r) => r.name)).toEqual(['A deleted', 'A live'])
    const deleted = await scope.scopedDb({ view: 'deleted' }).selectFrom('projects').select('name').execute()
    expect(deleted.map((r) => r.name)).toEqual(['A deleted'])
  })
})

describe('scope.db writes', () => {
  it('updates only its own live rows', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    const result = await db.updateTable('projects').set({ status: 'paused' }).where('slug', '=', 'same').executeTakeFirst()
    expect(result.numUpdatedRows).toBe(1n)
    const b = await fileDb.db.selectFrom('projects').select('status').where('id', '=', projectB).executeTakeFirstOrThrow()
    expect(b.status).toBe('active')
  })

  it('deletes only its own rows, also through update ... from and delete ... using', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    await db.updateTable('tasks').from('projects').set({ title: 'touched' }).whereRef('tasks.project_id', '=', 'projects.id').execute()
    await db.deleteFrom('tasks').using('projects').whereRef('tasks.project_id', '=', 'projects.id').where('tasks.title', '=', 'touched').execute()
    const left = await fileDb.db.selectFrom('tasks').select(['tenant_id', 'title']).orderBy('title').execute()
    expect(left).toEqual([
      { tenant_id: tenantA, title: 'A deleted task' },
      { tenant_id: tenantB, title: 'B task' },
      { tenant_id: tenantB, title: 'B task on A project' },
    ])
  })

  it('fills the tenant column on insert and refuses another tenant', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    const row = await db
      .insertInto('notes')
      .values({ body: 'hello' } as never)
      .returning('tenant_id')
      .executeTakeFirstOrThrow()
    expect(row.tenant_id).toBe(tenantA)
    await db
      .insertInto('notes')
      .values([{ body: 'own', tenant_id: tenantA }])
      .execute()
    await expectCode(db.insertInto('notes').values({ body: 'planted', tenant_id: tenantB }).execute(), 'FORBIDDEN')
    await expectCode(db.updateTable('notes').set({ tenant_id: tenantB }).execute(), 'FORBIDDEN')
    const planted = await fileDb.db.selectFrom('notes').select('body').where('tenant_id', '=', tenantB).execute()
    expect(planted).toEqual([])
  })

  it('guards on conflict do update against the other tenant row holding the key', async () => {
    await sql`create unique index if not exists notes_body_key on notes (body)`.execute(fileDb.db)
    await fileDb.db.insertInto('notes').values({ tenant_id: tenantB, body: 'taken' }).execute()
    const db = tenantry.withContext({ tenantId: tenantA }).db
    await db
      .insertInto('notes')
      .values({ body: 'taken' } as never)
      .onConflict((oc) => oc.column('body').doUpdateSet({ body: 'hijacked' }))
      .execute()
    const rows = await fileDb.db.selectFrom('notes').select(['tenant_id', 'body']).where('tenant_id', '=', tenantB).execute()
    expect(rows).toEqual([{ tenant_id: tenantB, body: 'taken' }])
    await sql`drop index notes_body_key`.execute(fileDb.db)
  })
})

describe('scope.db refuses what it cannot scope', () => {
  it('refuses raw sql, compiled queries and set_config unless raw sql is allowed', async () => {
    const scope = tenantry.withContext({ tenantId: tenantA })
    await expectCode(sql`select * from projects`.execute(scope.db), 'FORBIDDEN')
    await expectCode(scope.db.selectFrom('projects').select(sql<string>`name`.as('n')).execute(), 'FORBIDDEN')
    await expectCode(scope.db.executeQuery(CompiledQuery.raw('select * from projects')), 'FORBIDDEN')
    await expectCode(
      scope.db.selectNoFrom((eb) => eb.fn<string>('set_config', [eb.val('tenantry.tenant_id'), eb.val(tenantB), eb.val(true)]).as('x')).execute(),
      'FORBIDDEN',
    )
    await expectCode(scope.db.selectNoFrom((eb) => eb.fn<string>('now(); drop table projects; --', []).as('x')).execute(), 'FORBIDDEN')
    await expectCode(
      scope.db.transaction().execute(async () => {}),
      'VALIDATION',
    )
    const raw = await sql<{ n: string }>`select count(*) as n from projects`.execute(scope.scopedDb({ allowRawSql: true }))
    expect(raw.rows[0]!.n).toBe('3')
  })

  it('scopes the subqueries of JSON helpers once raw sql is allowed', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).scopedDb({ allowRawSql: true })
    const rows = await db
      .selectFrom('projects as p')
      .select((eb) => ['p.name', jsonArrayFrom(eb.selectFrom('tasks as t').select('t.title').whereRef('t.project_id', '=', 'p.id')).as('tasks')])
      .execute()
    expect(rows).toEqual([{ name: 'A live', tasks: [{ title: 'A task' }] }])
  })

  it('refuses a builder of another scope nested in a query', async () => {
    const a = tenantry.withContext({ tenantId: tenantA }).db
    const b = tenantry.withContext({ tenantId: tenantB }).db
    await expectCode(a.selectFrom('projects').select('name').where('id', 'in', b.selectFrom('projects').select('id')).execute(), 'FORBIDDEN')
    const scope = tenantry.withContext({ tenantId: tenantA })
    const nested = await scope.db.selectFrom('projects').select('name').where('id', 'in', scope.db.selectFrom('tasks').select('project_id')).execute()
    expect(nested).toEqual([{ name: 'A live' }])
  })

  it('refuses inserts a tenant scope may not make', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    await expectCode(
      db
        .insertInto('tenantry.tenants' as never)
        .values({ slug: 'x', name: 'x' } as never)
        .execute(),
      'FORBIDDEN',
    )
  })

  it('scopes insert ... select: only its own rows are copied, into its own tenant', async () => {
    const db = tenantry.withContext({ tenantId: tenantA }).db
    await db
      .insertInto('notes')
      .columns(['body'])
      .expression((eb) => eb.selectFrom('projects').select('name'))
      .execute()
    const copied = await fileDb.db.selectFrom('notes').select(['tenant_id', 'body']).where('body', 'like', '% live').execute()
    expect(copied).toEqual([{ tenant_id: tenantA, body: 'A live' }])
    await expectCode(
      db
        .insertInto('notes')
        .columns(['body', 'tenant_id'])
        .expression((eb) => eb.selectFrom('projects').select(['name', 'tenant_id']))
        .execute(),
      'FORBIDDEN',
    )
  })
})

describe('scope.db in transactions and system scopes', () => {
  it('runs tx.db on the transaction of scope.transaction', async () => {
    const scope = tenantry.withContext({ tenantId: tenantA })
    await expect(
      scope.transaction(async (tx) => {
        await tx.db
          .insertInto('notes')
          .values({ body: 'rolled back' } as never)
          .execute()
        expect(await tx.db.selectFrom('notes').select('body').where('body', '=', 'rolled back').execute()).toHaveLength(1)
        throw new Error('undo')
      }),
    ).rejects.toThrow('undo')
    expect(await fileDb.db.selectFrom('notes').select('id').where('body', '=', 'rolled back').execute()).toEqual([])
  })

  it('lets a system scope see every tenant (still without soft-deleted rows)', async () => {
    const rows = await tenantry.asSystem({ reason: 'report' }).db.selectFrom('projects').select('name').orderBy('name').execute()
    expect(rows.map((r) => r.name)).toEqual(['A live', 'B live'])
  })
})
