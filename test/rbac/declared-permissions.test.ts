import type { Kysely } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, isTenantryError, type Tenantry, type TenantScope } from '../../src/index.js'
import { useFileDatabase, type FileDatabase, type RoundTripCounter } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant, type AppDB } from '../support/host-schema.js'
import { createAppRole } from '../isolation/support/app-role.js'
import { insertMembership, insertRole, insertUser, insertUserRole } from './rbac-fixtures.js'

/**
 * `defineTable({ permissions })`: a table's read and write permissions, enforced on every
 * repository method and on every `scope.db` statement that touches the table, in both isolation
 * modes (rls as the non-owner application role). Each refusal is checked against the database:
 * nothing changed, and one `denied` audit row names the permission.
 */

const tables = {
  ...appTables,
  projects: defineTable<AppDB, 'projects'>({ ...appTables.projects, permissions: { read: 'projects:read', write: 'projects:write' } }),
  // Several permissions: all are required.
  notes: defineTable<AppDB, 'notes'>({ ...appTables.notes, permissions: { read: ['notes:read', 'notes:list'], write: 'notes:write' } }),
}

const LIVE = '0a000000-0000-4000-8000-000000000001'
const GONE = '0a000000-0000-4000-8000-000000000002'

interface World {
  /** The owner's connection, for checking the database behind the library's back. */
  db: Kysely<any>
  tenantry: Tenantry<AppDB, typeof tables>
  roundTrips: RoundTripCounter
  tenantA: string
  tenantB: string
  /** Member of A without any role. */
  nobody: string
  /** `projects:read`, `notes:read` (not `notes:list`). */
  reader: string
  /** `projects:write` only. */
  writer: string
  /** `*:*`. */
  admin: string
}

async function seed(fileDb: FileDatabase): Promise<Omit<World, 'tenantry' | 'roundTrips'>> {
  const db = fileDb.db
  await createHostTables(db)
  const tenantA = await insertTenant(db, 'perm-a')
  const tenantB = await insertTenant(db, 'perm-b')
  const member = async (permissions: string[] | null) => {
    const user = await insertUser(db)
    await insertMembership(db, tenantA, user)
    if (permissions) await insertUserRole(db, tenantA, user, await insertRole(db, tenantA, permissions))
    return user
  }
  const nobody = await member(null)
  const reader = await member(['projects:read', 'notes:read'])
  const writer = await member(['projects:write'])
  const admin = await member(['*:*'])
  await resetA(db, tenantA)
  return { db, tenantA, tenantB, nobody, reader, writer, admin }
}

/** Tenant A's rows, (re)built: a live and a soft-deleted project, a note, a device. */
async function resetA(db: Kysely<any>, tenantA: string): Promise<void> {
  await db.deleteFrom('projects').where('tenant_id', '=', tenantA).execute()
  await db.deleteFrom('notes').where('tenant_id', '=', tenantA).execute()
  await db.deleteFrom('devices').where('tenant_id', '=', tenantA).execute()
  await db
    .insertInto('projects')
    .values([
      { id: LIVE, tenant_id: tenantA, name: 'A live', slug: 'a-live' },
      { id: GONE, tenant_id: tenantA, name: 'A gone', slug: 'a-gone', deleted_at: new Date('2026-01-01T00:00:00Z') },
    ])
    .execute()
  await db.insertInto('notes').values({ tenant_id: tenantA, body: 'A note' }).execute()
  await db.insertInto('devices').values({ tenant_id: tenantA, serial: 'A live' }).execute()
}

/** Everything an attempt could change. */
async function stateOf(db: Kysely<any>): Promise<unknown> {
  return {
    projects: await db.selectFrom('projects').selectAll().orderBy('id').execute(),
    notes: await db.selectFrom('notes').selectAll().orderBy('id').execute(),
    devices: await db.selectFrom('devices').selectAll().orderBy('id').execute(),
  }
}

/** Audit rows of one actor, oldest first. */
function auditOf(db: Kysely<any>, actor: string): Promise<Record<string, any>[]> {
  return db.selectFrom('tenantry.audit_logs').selectAll().where('actor_user_id', '=', actor).orderBy('created_at').orderBy('id').execute()
}

/**
 * Runs `attempt`, expects `FORBIDDEN` naming `permission`, no change to any row, and exactly one
 * new audit row: `denied`, with `action`, the table as resource type and the permission.
 */
async function expectRefused(
  w: World,
  actor: string,
  attempt: () => Promise<unknown>,
  expected: { action: string; table: string; permission: string; resourceId?: string | null },
): Promise<void> {
  const before = await stateOf(w.db)
  const audit = await auditOf(w.db, actor)
  const error = await attempt().then(
    () => null,
    (e: unknown) => e,
  )
  expect(isTenantryError(error, 'FORBIDDEN'), `${expected.action}: ${String(error)}`).toBe(true)
  expect((error as Error).message).toContain(expected.permission)
  expect((error as Error).message).not.toContain(actor)
  expect(await stateOf(w.db)).toEqual(before)
  const added = (await auditOf(w.db, actor)).slice(audit.length)
  expect(added).toHaveLength(1)
  expect(added[0]).toMatchObject({
    tenant_id: w.tenantA,
    action: expected.action,
    outcome: 'denied',
    error_code: 'FORBIDDEN',
    resource_type: expected.table,
    resource_id: expected.resourceId ?? null,
    metadata: { permission: expected.permission },
  })
}

type Scope = TenantScope<AppDB, typeof tables>

const reads: { name: string; action: string; run: (repo: any) => Promise<unknown> }[] = [
  { name: 'findById', action: 'projects.findById', run: (r) => r.findById(LIVE) },
  { name: 'getById', action: 'projects.findById', run: (r) => r.getById(LIVE) },
  { name: 'findOne', action: 'projects.findOne', run: (r) => r.findOne({ where: { name: 'A live' } }) },
  { name: 'findMany', action: 'projects.findMany', run: (r) => r.findMany() },
  { name: 'page', action: 'projects.page', run: (r) => r.page({ limit: 1 }) },
  { name: 'count', action: 'projects.count', run: (r) => r.count() },
  { name: 'exists', action: 'projects.exists', run: (r) => r.exists({ where: { name: 'A live' } }) },
  { name: 'aggregate', action: 'projects.aggregate', run: (r) => r.aggregate({ count: true, groupBy: 'status' }) },
  { name: 'withDeleted().findById', action: 'projects.findById', run: (r) => r.withDeleted().findById(GONE) },
  { name: 'withDeleted().findMany', action: 'projects.findMany', run: (r) => r.withDeleted().findMany() },
  { name: 'onlyDeleted().count', action: 'projects.count', run: (r) => r.onlyDeleted().count() },
  { name: 'onlyDeleted().page', action: 'projects.page', run: (r) => r.onlyDeleted().page() },
]

const writes: { name: string; action: string; resourceId?: string; run: (repo: any) => Promise<unknown> }[] = [
  { name: 'create', action: 'projects.create', run: (r) => r.create({ name: 'forbidden' }) },
  { name: 'createMany', action: 'projects.create', run: (r) => r.createMany([{ name: 'forbidden 1' }, { name: 'forbidden 2' }]) },
  { name: 'update', action: 'projects.update', resourceId: LIVE, run: (r) => r.update(LIVE, { name: 'forbidden' }) },
  { name: 'updateMany', action: 'projects.update', run: (r) => r.updateMany('all', { status: 'archived' }) },
  { name: 'softDelete', action: 'projects.softDelete', resourceId: LIVE, run: (r) => r.softDelete(LIVE) },
  { name: 'softDeleteMany', action: 'projects.softDelete', run: (r) => r.softDeleteMany({ name: 'A live' }) },
  { name: 'restore', action: 'projects.restore', resourceId: GONE, run: (r) => r.restore(GONE) },
  { name: 'purge', action: 'projects.purge', resourceId: LIVE, run: (r) => r.purge(LIVE) },
  { name: 'withDeleted().purge', action: 'projects.purge', resourceId: GONE, run: (r) => r.withDeleted().purge(GONE) },
]

/** `scope.db` statements that read `projects` (or `notes`), with the permission each must name. */
const dbReads: { name: string; statement: string; permission?: string; table?: string; run: (db: Kysely<any>) => Promise<unknown> }[] = [
  { name: 'select', statement: 'select', run: (db) => db.selectFrom('projects').selectAll().execute() },
  { name: 'qualified select with an alias', statement: 'select', run: (db) => db.selectFrom('public.projects as p').select('p.name').execute() },
  {
    name: 'inner join',
    statement: 'select',
    run: (db) => db.selectFrom('devices as d').innerJoin('projects as p', 'p.name', 'd.serial').select('p.name').execute(),
  },
  {
    name: 'left join',
    statement: 'select',
    run: (db) => db.selectFrom('devices as d').leftJoin('projects as p', 'p.name', 'd.serial').select(['d.serial', 'p.secret']).execute(),
  },
  {
    name: 'right join',
    statement: 'select',
    run: (db) => db.selectFrom('devices as d').rightJoin('projects as p', 'p.name', 'd.serial').select('p.secret').execute(),
  },
  {
    name: 'subquery in where (expression builder)',
    statement: 'select',
    run: (db) =>
      db
        .selectFrom('devices')
        .where((eb) => eb.exists(eb.selectFrom('projects').select('id').where('secret', 'is not', null)))
        .selectAll()
        .execute(),
  },
  {
    name: 'subquery built on scope.db and embedded',
    statement: 'select',
    run: (db) => db.selectFrom('devices').where('serial', 'in', db.selectFrom('projects').select('name')).selectAll().execute(),
  },
  {
    name: 'subquery in the select list',
    statement: 'select',
    run: (db) =>
      db
        .selectFrom('devices as d')
        .select((eb) => eb.selectFrom('projects').select(eb.fn.countAll().as('n')).as('n'))
        .execute(),
  },
  {
    name: 'common table expression',
    statement: 'select',
    run: (db) =>
      db
        .with('p', (qb) => qb.selectFrom('projects').select(['name', 'secret']))
        .selectFrom('p')
        .selectAll()
        .execute(),
  },
  {
    name: 'union',
    statement: 'select',
    run: (db) => db.selectFrom('devices').select('serial as name').union(db.selectFrom('projects').select('name')).execute(),
  },
  {
    name: 'insert ... select from it into another table',
    statement: 'insert',
    run: (db) => db.insertInto('devices').columns(['serial']).expression(db.selectFrom('projects').select('name')).execute(),
  },
  {
    name: 'update of another table from it',
    statement: 'update',
    run: (db) =>
      db
        .updateTable('devices')
        .from('projects')
        .set((eb) => ({ serial: eb.ref('projects.slug') }))
        .whereRef('devices.serial', '=', 'projects.name')
        .execute(),
  },
  {
    name: 'delete of another table using it',
    statement: 'delete',
    run: (db) => db.deleteFrom('devices').using('projects').whereRef('devices.serial', '=', 'projects.name').execute(),
  },
  {
    name: 'streamed select',
    statement: 'select',
    run: async (db) => {
      const rows: unknown[] = []
      for await (const row of db.selectFrom('projects').selectAll().stream()) rows.push(row)
      return rows
    },
  },
  { name: 'compiled, then executeQuery', statement: 'select', run: (db) => db.executeQuery(db.selectFrom('projects').selectAll().compile()) },
  {
    name: 'select on a held connection',
    statement: 'select',
    run: (db) => db.connection().execute((conn) => conn.selectFrom('projects').selectAll().execute()),
  },
  { name: 'select after withoutPlugins()', statement: 'select', run: (db) => db.withoutPlugins().selectFrom('projects').selectAll().execute() },
  {
    name: 'select of a table needing two permissions, one missing',
    statement: 'select',
    permission: 'notes:list',
    table: 'notes',
    run: (db) => db.selectFrom('notes').selectAll().execute(),
  },
]

/** `scope.db` statements that write `projects`. */
const dbWrites: { name: string; statement: string; run: (db: Kysely<any>) => Promise<unknown> }[] = [
  { name: 'insert', statement: 'insert', run: (db) => db.insertInto('projects').values({ name: 'forbidden' }).execute() },
  { name: 'update', statement: 'update', run: (db) => db.updateTable('projects').set({ name: 'forbidden' }).execute() },
  { name: 'delete', statement: 'delete', run: (db) => db.deleteFrom('projects').execute() },
  {
    name: 'insert ... on conflict do update',
    statement: 'insert',
    run: (db) =>
      db
        .insertInto('projects')
        .values({ id: LIVE, name: 'forbidden' })
        .onConflict((oc) => oc.column('id').doUpdateSet({ name: 'forbidden' }))
        .execute(),
  },
  {
    name: 'delete inside a common table expression',
    statement: 'select',
    run: (db) =>
      db
        .with('gone', (qb) => qb.deleteFrom('projects').returning('id'))
        .selectFrom('gone')
        .selectAll()
        .execute(),
  },
]

function suite(getWorld: () => World) {
  const as = (actor: string): Scope => getWorld().tenantry.withContext({ tenantId: getWorld().tenantA, actorId: actor })

  describe('repository reads without the read permission', () => {
    for (const read of reads) {
      it(`refuses ${read.name}`, async () => {
        const w = getWorld()
        await expectRefused(w, w.writer, () => read.run(as(w.writer).repo('projects')), {
          action: read.action,
          table: 'projects',
          permission: 'projects:read',
        })
      })
    }

    it('refuses a read of a table needing two permissions when one is missing', async () => {
      const w = getWorld()
      await expectRefused(w, w.reader, () => as(w.reader).repo('notes').findMany(), {
        action: 'notes.findMany',
        table: 'notes',
        permission: 'notes:list',
      })
    })

    it('refuses a tenant context without an actor', async () => {
      const w = getWorld()
      const error = await w.tenantry
        .withContext({ tenantId: w.tenantA })
        .repo('projects')
        .findMany()
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    })
  })

  describe('repository writes without the write permission', () => {
    for (const write of writes) {
      it(`refuses ${write.name}`, async () => {
        const w = getWorld()
        await expectRefused(w, w.reader, () => write.run(as(w.reader).repo('projects')), {
          action: write.action,
          table: 'projects',
          permission: 'projects:write',
          resourceId: write.resourceId ?? null,
        })
      })
    }

    it('runs no hook of a refused write', async () => {
      const w = getWorld()
      let called = 0
      const hooked = createTenantry<AppDB>({
        db: w.tenantry.kysely,
        isolation: w.tenantry.runtime.isolation,
        tables: {
          projects: defineTable<AppDB, 'projects'>({
            ...tables.projects,
            hooks: {
              beforeCreate: () => {
                called++
              },
            },
          }),
        },
      })
      const error = await hooked
        .withContext({ tenantId: w.tenantA, actorId: w.reader })
        .repo('projects')
        .create({ name: 'forbidden' })
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
      expect(called).toBe(0)
    })

    it('leaves the denied row also for a table whose audit is off', async () => {
      const w = getWorld()
      const unaudited = createTenantry<AppDB>({
        db: w.tenantry.kysely,
        isolation: w.tenantry.runtime.isolation,
        tables: { notes: defineTable<AppDB, 'notes'>({ table: 'notes', audit: { enabled: false }, permissions: { write: 'notes:write' } }) },
      })
      await expectRefused(w, w.reader, () => unaudited.withContext({ tenantId: w.tenantA, actorId: w.reader }).repo('notes').create({ body: 'no' }), {
        action: 'notes.create',
        table: 'notes',
        permission: 'notes:write',
      })
    })

    it('keeps the denied row when the refusal ends a transaction, and rolls the rest back', async () => {
      const w = getWorld()
      const scope = w.tenantry.withContext({ tenantId: w.tenantA, actorId: w.reader, requestId: 'perm-tx' })
      const error = await scope
        .transaction(async (tx) => {
          await tx.repo('devices').create({ serial: 'rolled back' })
          await tx.repo('projects').create({ name: 'forbidden' })
        })
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
      expect(await w.db.selectFrom('devices').select('id').where('serial', '=', 'rolled back').execute()).toEqual([])
      const rows = await w.db.selectFrom('tenantry.audit_logs').selectAll().where('request_id', '=', 'perm-tx').execute()
      expect(rows.map((r) => [r.action, r.outcome, r.metadata.permission])).toEqual([['projects.create', 'denied', 'projects:write']])
    })
  })

  describe('scope.db reads without the read permission', () => {
    for (const attack of dbReads) {
      it(`refuses ${attack.name}`, async () => {
        const w = getWorld()
        try {
          // The writer holds projects:write but not projects:read; the reader lacks notes:list.
          const actor = attack.permission ? w.reader : w.writer
          await expectRefused(w, actor, () => attack.run(as(actor).db), {
            action: `scope.db.${attack.statement}`,
            table: attack.table ?? 'projects',
            permission: attack.permission ?? 'projects:read',
          })
        } finally {
          await resetA(w.db, w.tenantA)
        }
      })
    }
  })

  describe('scope.db inside a transaction', () => {
    it('refuses tx.db before the statement is sent, keeps the denied row, and rolls the transaction back', async () => {
      const w = getWorld()
      const scope = w.tenantry.withContext({ tenantId: w.tenantA, actorId: w.writer, requestId: 'perm-tx-db' })
      const error = await scope
        .transaction(async (tx) => {
          await tx.db.updateTable('projects').set({ status: 'paused' }).execute()
          await tx.db.selectFrom('projects').select('secret').execute()
        })
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
      expect(await w.db.selectFrom('projects').select('status').where('tenant_id', '=', w.tenantA).execute()).toEqual([
        { status: 'active' },
        { status: 'active' },
      ])
      const rows = await w.db.selectFrom('tenantry.audit_logs').selectAll().where('request_id', '=', 'perm-tx-db').execute()
      expect(rows.map((r) => [r.action, r.outcome, r.resource_type, r.metadata.permission])).toEqual([
        ['scope.db.select', 'denied', 'projects', 'projects:read'],
      ])
    })
  })

  describe('scope.db writes without the write permission', () => {
    for (const attack of dbWrites) {
      it(`refuses ${attack.name}`, async () => {
        const w = getWorld()
        try {
          await expectRefused(w, w.reader, () => attack.run(as(w.reader).db), {
            action: `scope.db.${attack.statement}`,
            table: 'projects',
            permission: 'projects:write',
          })
        } finally {
          await resetA(w.db, w.tenantA)
        }
      })
    }
  })

  describe('with the permission', () => {
    it('lets a reader read through every read method and scope.db, with no audit row', async () => {
      const w = getWorld()
      const audit = await auditOf(w.db, w.reader)
      const repo = as(w.reader).repo('projects')
      for (const read of reads) await read.run(repo)
      expect(await repo.findById(LIVE)).toMatchObject({ name: 'A live' })
      expect(await repo.onlyDeleted().count()).toBe(1)
      for (const attack of dbReads.slice(0, 10)) await attack.run(as(w.reader).db)
      expect(await as(w.reader).db.selectFrom('projects').select('name').execute()).toEqual([{ name: 'A live' }])
      expect(await auditOf(w.db, w.reader)).toEqual(audit)
    })

    it('lets a writer write through every write method and scope.db without reading', async () => {
      const w = getWorld()
      const earlier = (await auditOf(w.db, w.writer)).length
      try {
        const repo = as(w.writer).repo('projects')
        const created = await repo.create({ name: 'by writer' })
        await repo.createMany([{ name: 'by writer 2' }])
        await repo.update(created.id, { name: 'renamed' })
        await repo.updateMany({ name: 'by writer 2' }, { status: 'paused' })
        await repo.softDelete(created.id)
        await repo.restore(created.id)
        await repo.softDeleteMany({ name: 'by writer 2' })
        await repo.purge(created.id)
        const db = as(w.writer).db as Kysely<any>
        await db.insertInto('projects').values({ name: 'via db' }).execute()
        await db.updateTable('projects').set({ status: 'paused' }).where('name', '=', 'via db').execute()
        await db.deleteFrom('projects').where('name', '=', 'via db').execute()
        const rows = await w.db.selectFrom('projects').select(['name', 'status', 'deleted_at']).where('tenant_id', '=', w.tenantA).orderBy('name').execute()
        expect(rows.map((r) => [r.name, r.status, r.deleted_at === null])).toEqual([
          ['A gone', 'active', false],
          ['A live', 'active', true],
          ['by writer 2', 'paused', false],
        ])
        const audit = (await auditOf(w.db, w.writer)).slice(earlier)
        expect(audit.filter((r) => r.outcome !== 'success')).toEqual([])
        expect(audit.map((r) => r.action)).toEqual(
          expect.arrayContaining(['projects.create', 'projects.update', 'projects.softDelete', 'projects.restore', 'projects.purge']),
        )
      } finally {
        await resetA(w.db, w.tenantA)
      }
    })

    it('lets a *:* admin read and write, and a table without permissions stays open to everyone', async () => {
      const w = getWorld()
      try {
        const admin = as(w.admin)
        await admin.repo('projects').update(LIVE, { status: 'paused' })
        expect(await admin.repo('notes').count()).toBe(1)
        expect(await admin.db.selectFrom('projects').innerJoin('notes', 'notes.tenant_id', 'projects.tenant_id').select('notes.body').execute()).toEqual([
          { body: 'A note' },
        ])
        const nobody = as(w.nobody)
        expect(await nobody.repo('devices').findMany()).toHaveLength(1)
        await nobody.db.updateTable('devices').set({ serial: 'renamed' }).execute()
        expect(await w.db.selectFrom('devices').select('serial').where('tenant_id', '=', w.tenantA).execute()).toEqual([{ serial: 'renamed' }])
        expect((await auditOf(w.db, w.nobody)).filter((r) => r.outcome === 'denied' && r.resource_type === 'devices')).toEqual([])
      } finally {
        await resetA(w.db, w.tenantA)
      }
    })
  })

  describe('asSystem', () => {
    it('bypasses declared permissions (its writes are audited with the reason)', async () => {
      const w = getWorld()
      try {
        const system = w.tenantry.asSystem({ reason: 'nightly import' })
        const created = await system.repo('projects').create({ name: 'imported', tenant_id: w.tenantB })
        expect(await system.repo('projects').findById(created.id)).toMatchObject({ tenant_id: w.tenantB })
        expect(await system.repo('notes').count()).toBe(1)
        expect(await system.db.selectFrom('projects').select('name').where('name', '=', 'imported').execute()).toEqual([{ name: 'imported' }])
        await system.db.deleteFrom('projects').where('name', '=', 'imported').execute()
        const audit = await w.db.selectFrom('tenantry.audit_logs').select(['action', 'outcome', 'metadata']).where('resource_id', '=', created.id).execute()
        expect(audit).toEqual([{ action: 'projects.create', outcome: 'success', metadata: { system: true, reason: 'nightly import' } }])
      } finally {
        await resetA(w.db, w.tenantA)
        await w.db.deleteFrom('projects').where('tenant_id', '=', w.tenantB).execute()
      }
    })
  })

  describe('cost', () => {
    it('checks from the scope cache: no round trip beyond the read itself once the scope has checked', async () => {
      const w = getWorld()
      const scope = as(w.reader)
      const open = await w.roundTrips.measure(() => scope.repo('devices').findById(LIVE))
      const first = await w.roundTrips.measure(() => scope.repo('projects').findById(LIVE))
      expect(first).toBeGreaterThan(open)
      expect(await w.roundTrips.measure(() => scope.repo('projects').findById(LIVE))).toBe(open)
      expect(await w.roundTrips.measure(() => scope.repo('projects').findMany())).toBe(open)
      expect(await w.roundTrips.measure(() => scope.db.selectFrom('projects').selectAll().execute())).toBe(
        await w.roundTrips.measure(() => scope.db.selectFrom('devices').selectAll().execute()),
      )
      // A scope that checked once (scope.can) pays nothing more for its first declared-table read.
      const warmed = as(w.reader)
      await warmed.can('projects:read')
      expect(await w.roundTrips.measure(() => warmed.repo('projects').findById(LIVE))).toBe(open)
    })

    it('costs one round trip for the first check of a scope', async () => {
      const w = getWorld()
      if (w.tenantry.runtime.isolation !== 'query') return
      const scope = as(w.reader)
      expect(await w.roundTrips.measure(() => scope.repo('projects').findById(LIVE))).toBe(2)
      expect(await w.roundTrips.measure(() => as(w.reader).repo('devices').findById(LIVE))).toBe(1)
    })
  })
}

describe('declared permissions, query mode', () => {
  let world: World
  beforeAll(async () => {
    const fileDb = await useFileDatabase()
    const seeded = await seed(fileDb)
    const tenantry = createTenantry<AppDB, typeof tables>({ pool: fileDb.pool, tables })
    await tenantry.ready()
    world = { ...seeded, tenantry, roundTrips: fileDb.roundTrips }
  })
  suite(() => world)
})

describe('declared permissions, rls mode as an ordinary role', () => {
  let world: World
  beforeAll(async () => {
    const fileDb = await useFileDatabase()
    const seeded = await seed(fileDb)
    await createTenantry<AppDB, typeof tables>({ pool: fileDb.pool, tables, isolation: 'rls' }).rls.enable()
    const role = await createAppRole(fileDb)
    const tenantry = createTenantry<AppDB, typeof tables>({ pool: role.pool, tables, isolation: 'rls' })
    await tenantry.ready()
    world = { ...seeded, tenantry, roundTrips: role.roundTrips }
  })
  suite(() => world)
})

describe('the permissions option', () => {
  it.each([
    ['a malformed permission', { read: 'Projects:Read' }],
    ['an unknown key', { reed: 'projects:read' }],
    ['an empty list', { write: [] }],
    ['a list with a malformed entry', { write: ['projects:write', 'projects'] }],
    ['a number', { read: 7 }],
    ['a string instead of an object', 'projects:read'],
  ])('refuses %s with VALIDATION naming the option', (_, permissions) => {
    const error = (() => {
      try {
        defineTable<AppDB, 'projects'>({ table: 'projects', permissions } as never)
        return null
      } catch (e) {
        return e
      }
    })()
    expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    expect(JSON.stringify((error as any).issues)).toContain('permissions')
  })

  it('accepts a string or a list, for either key', () => {
    expect(defineTable<AppDB, 'projects'>({ table: 'projects', permissions: { read: ['projects:read', '*:audit'] } }).permissions).toEqual({
      read: ['projects:read', '*:audit'],
    })
    expect(defineTable<AppDB, 'projects'>({ table: 'projects', permissions: { write: 'projects:*' } }).permissions).toEqual({ write: 'projects:*' })
  })
})
