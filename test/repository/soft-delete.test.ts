import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'soft')
  tenantry = makeTenantry(fileDb.pool)
})

const projects = () => tenantry.withContext({ tenantId }).repo('projects')
const devices = () => tenantry.withContext({ tenantId }).repo('devices')

describe('soft delete with a deleted_at timestamp', () => {
  it('hides a soft-deleted row from every default-scope operation', async () => {
    const row = await projects().create({ name: 'hidden', slug: 'hidden' })
    await projects().softDelete(row.id)
    const stored = await fileDb.db.selectFrom('projects').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.deleted_at).toBeInstanceOf(Date)

    expect(await projects().findById(row.id)).toBeNull()
    expect(await projects().findMany({ where: { slug: 'hidden' } })).toEqual([])
    expect(await projects().count({ where: { slug: 'hidden' } })).toBe(0)
    expect(await projects().exists({ where: { slug: 'hidden' } })).toBe(false)
    expect((await projects().page({ where: { slug: 'hidden' } })).items).toEqual([])
    expect(await projects().updateMany({ slug: 'hidden' }, { name: 'changed' })).toEqual({ count: 0 })
    await expect(projects().update(row.id, { name: 'changed' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(projects().softDelete(row.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await projects().softDeleteMany({ slug: 'hidden' })).toEqual({ count: 0 })

    const after = await fileDb.db.selectFrom('projects').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(after).toEqual(stored)
  })

  it('shows deleted rows through withDeleted() and onlyDeleted()', async () => {
    const live = await projects().create({ name: 'v-live', slug: 'v-live' })
    const gone = await projects().create({ name: 'v-gone', slug: 'v-gone' })
    await projects().softDelete(gone.id)
    expect((await projects().withDeleted().findById(gone.id))?.name).toBe('v-gone')
    expect(
      await projects()
        .withDeleted()
        .count({ where: { slug: ['v-live', 'v-gone'] } }),
    ).toBe(2)
    expect(
      (
        await projects()
          .onlyDeleted()
          .findMany({ where: { slug: ['v-live', 'v-gone'] } })
      ).map((r) => r.id),
    ).toEqual([gone.id])
    expect(await projects().onlyDeleted().findById(live.id)).toBeNull()
  })

  it('restores a row and clears deleted_at', async () => {
    const row = await projects().create({ name: 'back', slug: 'back' })
    await projects().softDelete(row.id)
    const restored = await projects().restore(row.id)
    expect(restored.deleted_at).toBeNull()
    const stored = await fileDb.db.selectFrom('projects').select('deleted_at').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.deleted_at).toBeNull()
  })

  it('lets a soft-deleted unique value be used again', async () => {
    const first = await projects().create({ name: 'one', slug: 'reused' })
    await projects().softDelete(first.id)
    const second = await projects().create({ name: 'two', slug: 'reused' })
    const rows = await fileDb.db.selectFrom('projects').select(['id', 'deleted_at']).where('slug', '=', 'reused').orderBy('created_at').execute()
    expect(rows.map((r) => r.id)).toEqual([first.id, second.id])
  })

  it('reports a restore whose unique key was reused as UNIQUE_VIOLATION naming the constraint, and changes nothing', async () => {
    const first = await projects().create({ name: 'one', slug: 'taken' })
    await projects().softDelete(first.id)
    await projects().create({ name: 'two', slug: 'taken' })
    const error = await projects()
      .restore(first.id)
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    expect((error as { constraint: string }).constraint).toBe('projects_tenant_slug_live_key')
    expect((error as Error).message).toContain('live row already holds')
    const stored = await fileDb.db.selectFrom('projects').select('deleted_at').where('id', '=', first.id).executeTakeFirstOrThrow()
    expect(stored.deleted_at).not.toBeNull()
    const audit = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', first.id).where('outcome', '=', 'failure').execute()
    expect(audit).toMatchObject([{ action: 'projects.restore', error_code: 'UNIQUE_VIOLATION' }])
  })

  it('purges live and soft-deleted rows for good', async () => {
    const live = await projects().create({ name: 'p-live' })
    const gone = await projects().create({ name: 'p-gone' })
    await projects().softDelete(gone.id)
    await projects().purge(live.id)
    await projects().purge(gone.id)
    const rows = await fileDb.db.selectFrom('projects').select('id').where('id', 'in', [live.id, gone.id]).execute()
    expect(rows).toEqual([])
  })

  it('refuses to write the soft-delete column through create or update', async () => {
    const row = await projects().create({ name: 'guarded' })
    await expect(projects().update(row.id, { deleted_at: new Date() } as never)).rejects.toMatchObject({ code: 'VALIDATION' })
    const stored = await fileDb.db.selectFrom('projects').select('deleted_at').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.deleted_at).toBeNull()
  })
})

describe('soft delete with a boolean flag (is_active = false) and a consistent timestamp', () => {
  it('sets the flag and the timestamp together, and clears both on restore', async () => {
    const device = await devices().create({ serial: 'SN-1' })
    await devices().softDelete(device.id)
    let stored = await fileDb.db.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow()
    expect(stored.is_active).toBe(false)
    expect(stored.deleted_at).toBeInstanceOf(Date)
    expect(await devices().findById(device.id)).toBeNull()
    expect(await devices().onlyDeleted().count()).toBe(1)

    await devices().restore(device.id)
    stored = await fileDb.db.selectFrom('devices').selectAll().where('id', '=', device.id).executeTakeFirstOrThrow()
    expect(stored.is_active).toBe(true)
    expect(stored.deleted_at).toBeNull()
  })

  it('scopes every operation by the flag', async () => {
    const a = await devices().create({ serial: 'F-1' })
    const b = await devices().create({ serial: 'F-2' })
    expect(await devices().softDeleteMany({ serial: ['F-1', 'F-2'] })).toEqual({ count: 2 })
    expect(await devices().count({ where: { serial: ['F-1', 'F-2'] } })).toBe(0)
    expect(await devices().updateMany({ serial: 'F-1' }, { serial: 'F-9' })).toEqual({ count: 0 })
    const reused = await devices().create({ serial: 'F-1' })
    const error = await devices()
      .restore(a.id)
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    const rows = await fileDb.db.selectFrom('devices').select(['id', 'is_active']).where('serial', 'in', ['F-1', 'F-2']).orderBy('serial').execute()
    expect(rows).toHaveLength(3)
    expect(rows.filter((r) => r.is_active).map((r) => r.id)).toEqual([reused.id])
    void b
  })
})

describe('tables without soft delete', () => {
  it('refuses softDelete with a clear error and deletes with purge', async () => {
    const notes = tenantry.withContext({ tenantId }).repo('notes')
    const note = await notes.create({ body: 'hello' })
    await expect(notes.softDelete(note.id)).rejects.toMatchObject({ code: 'VALIDATION' })
    expect(await fileDb.db.selectFrom('notes').select('id').where('id', '=', note.id).execute()).toHaveLength(1)
    await notes.purge(note.id)
    expect(await fileDb.db.selectFrom('notes').select('id').where('id', '=', note.id).execute()).toHaveLength(0)
  })
})
