import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'input')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
})

const projects = () => tenantry.withContext({ tenantId }).repo('projects')

async function projectCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from projects`.execute(fileDb.db)
  return Number(rows[0]!.n)
}

describe('bad input', () => {
  it('turns a zod failure into VALIDATION with the issues and writes nothing', async () => {
    const before = await projectCount()
    const error = await projects()
      .create({ name: '', slug: 'Not A Slug' })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'VALIDATION')).toBe(true)
    const issues = (error as { issues: { path: string[] }[] }).issues
    expect(issues.map((i) => i.path.join('.')).sort()).toEqual(['name', 'slug'])
    expect(JSON.stringify(error)).not.toContain('Not A Slug')
    expect(await projectCount()).toBe(before)
  })

  it('refuses unknown columns in where and orderBy before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    await expect(projects().findMany({ where: { nope: 1 } as never })).rejects.toMatchObject({ code: 'VALIDATION', column: 'nope' })
    await expect(projects().count({ where: { 'name; drop table projects': 'x' } as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().findMany({ orderBy: 'name; drop table projects --' as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().findMany({ orderBy: ['name', 'desc; drop table projects'] as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().findMany({ where: { name: { raw: '1=1' } } as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().findMany({ wher: { name: 'x' } } as never)).rejects.toMatchObject({ code: 'VALIDATION' })
    expect(fileDb.roundTrips.count).toBe(0)
    const { rows } = await sql<{ t: string | null }>`select to_regclass('public.projects')::text as t`.execute(fileDb.db)
    expect(rows[0]!.t).toBe('projects')
  })

  it('treats quotes and SQL in values as data', async () => {
    const name = `Robert'); drop table projects; --`
    const created = await projects().create({ name })
    expect((await projects().findOne({ where: { name } }))?.id).toBe(created.id)
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', created.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe(name)
  })

  it('refuses a malformed id before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    await expect(projects().findById('42')).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().update("' or 1=1 --", { name: 'x' })).rejects.toMatchObject({ code: 'VALIDATION' })
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('maps a check violation to CHECK_VIOLATION naming the constraint, without the value', async () => {
    const error = await projects()
      .create({ name: 'negative', budget: -987654 })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'projects_budget_check' })
    expect(String((error as Error).message)).not.toContain('987654')
    expect(await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'negative').execute()).toEqual([])
  })

  it('maps a unique violation to UNIQUE_VIOLATION whose message and cause carry no values', async () => {
    await projects().create({ name: 'first', slug: 'secret-slug-value' })
    const error = await projects()
      .create({ name: 'second', slug: 'secret-slug-value' })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'projects_tenant_slug_live_key' })
    const { inspect } = await import('node:util')
    expect(inspect(error, { depth: 5 })).not.toContain('secret-slug-value')
  })

  it('maps a foreign key violation to FOREIGN_KEY_VIOLATION', async () => {
    const system = tenantry.asSystem({ reason: 'test: orphan insert' })
    const error = await system
      .repo('projects')
      .create({ name: 'orphan', tenant_id: '00000000-0000-4000-8000-000000000000' })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' })
    expect(await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'orphan').execute()).toEqual([])
  })

  it('caps limit at 1000, defaults it to 100 and refuses nonsense', async () => {
    await projects().createMany(Array.from({ length: 120 }, (_, i) => ({ name: `bulk-${i}` })))
    expect(await projects().findMany({ where: { name: { like: 'bulk-%' } } })).toHaveLength(100)
    expect(await projects().findMany({ where: { name: { like: 'bulk-%' } }, limit: 5000 })).toHaveLength(120)
    await expect(projects().findMany({ limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().findMany({ limit: 1.5 })).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('supports equality, null, IN and comparison operators', async () => {
    await projects().createMany([
      { name: 'op-a', budget: 10, status: 'active' },
      { name: 'op-b', budget: 20, status: 'paused' },
      { name: 'op-c', budget: null, status: 'archived' },
    ])
    const names = async (where: object) =>
      (await projects().findMany({ where: { name: { like: 'op-%' }, ...where } as never, orderBy: 'name' })).map((r) => r.name)
    expect(await names({ budget: null })).toEqual(['op-c'])
    expect(await names({ status: ['active', 'paused'] })).toEqual(['op-a', 'op-b'])
    expect(await names({ budget: { gt: 10 } })).toEqual(['op-b'])
    expect(await names({ budget: { gte: 10, lte: 20 } })).toEqual(['op-a', 'op-b'])
    expect(await names({ budget: { lt: 20 } })).toEqual(['op-a'])
    expect(await names({ status: { ne: 'active' } })).toEqual(['op-b', 'op-c'])
    expect(await names({ name: { ilike: 'OP-A' } })).toEqual(['op-a'])
    expect(await names({ status: { notIn: ['active'] } })).toEqual(['op-b', 'op-c'])
    expect(await names({ status: [] })).toEqual([])
  })
})

describe('optimistic concurrency', () => {
  it('updates when expectedUpdatedAt matches and refuses a stale one with CONFLICT', async () => {
    const row = await projects().create({ name: 'v1' })
    const v2 = await projects().update(row.id, { name: 'v2' }, { expectedUpdatedAt: row.updated_at })
    expect(v2.name).toBe('v2')
    const error = await projects()
      .update(row.id, { name: 'v3' }, { expectedUpdatedAt: row.updated_at })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'CONFLICT')).toBe(true)
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe('v2')
  })
})

describe('keyset pages', () => {
  it('walks every row once, in order, across pages', async () => {
    const scope = tenantry.withContext({ tenantId })
    await scope.repo('projects').createMany(Array.from({ length: 25 }, (_, i) => ({ name: `page-${String(i).padStart(2, '0')}`, budget: i % 3 })))
    const seen: string[] = []
    let after: string | null = null
    do {
      const page: { items: { name: string }[]; nextCursor: string | null } = await scope.repo('projects').page({
        where: { name: { like: 'page-%' } },
        orderBy: [
          ['status', 'asc'],
          ['created_at', 'desc'],
        ],
        limit: 7,
        after,
      })
      seen.push(...page.items.map((r) => r.name))
      after = page.nextCursor
    } while (after)
    expect(seen).toHaveLength(25)
    expect(new Set(seen).size).toBe(25)
    const expected = await fileDb.db
      .selectFrom('projects')
      .select('name')
      .where('name', 'like', 'page-%')
      .orderBy('status', 'asc')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute()
    expect(seen).toEqual(expected.map((r) => r.name))
  })

  it('refuses a tampered cursor, or one from another tenant, with VALIDATION', async () => {
    const first = await projects().page({ limit: 1 })
    expect(first.nextCursor).toBeTruthy()
    const cursor = first.nextCursor!
    const [body, sum] = cursor.split('.')
    const edited = Buffer.from(Buffer.from(body!, 'base64url').toString().replace(/^\["/, '["0')).toString('base64url')
    expect(edited).not.toBe(body)
    await expect(projects().page({ limit: 1, after: `${edited}.${sum}` })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().page({ limit: 1, after: 'garbage' })).rejects.toMatchObject({ code: 'VALIDATION' })
    await expect(projects().page({ limit: 1, orderBy: 'name', after: cursor })).rejects.toMatchObject({ code: 'VALIDATION' })
    const other = await insertTenant(fileDb.db, 'input-other')
    await expect(tenantry.withContext({ tenantId: other }).repo('projects').page({ limit: 1, after: cursor })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })
})
