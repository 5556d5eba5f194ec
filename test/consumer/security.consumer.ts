import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { ALL_ROWS, isTenantryError } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase } from './support/consumer-database.js'

const { pool, tenantry, tenantId } = await useConsumerDatabase()
const scope = tenantry.withContext({ tenantId, actorId: randomUUID() })
let otherTenantId = ''

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return isTenantryError(error) ? error.code : `not a TenantryError: ${String(error)}`
}

async function namesOf(tenant: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('select name from projects where tenant_id = $1 and deleted_at is null order by name', [tenant])
  return rows.map((r) => r.name)
}

beforeAll(async () => {
  const other = await tenantry.asSystem({ reason: 'consumer check' }).tenants.create({ slug: 'initech', name: 'Initech' })
  otherTenantId = other.id
  await tenantry
    .withContext({ tenantId: other.id })
    .repo('projects')
    .createMany([{ name: 'B1' }, { name: 'B2' }])
  await scope.repo('projects').createMany([{ name: 'A1' }, { name: 'A2' }, { name: 'A3' }])
})

describe('the tenant boundary, from the installed package', () => {
  it('refuses SQL as a where value and changes no row of another tenant', async () => {
    const hostile = { name: { eq: sql`'zz' or true` } } as never
    expect(await codeOf(scope.repo('projects').updateMany(hostile, { name: 'taken' }))).toBe('VALIDATION')
    expect(await codeOf(scope.repo('projects').findMany({ where: hostile }))).toBe('VALIDATION')
    expect(await namesOf(otherTenantId)).toEqual(['B1', 'B2'])
  })

  it('refuses SQL as a written value and writes nothing', async () => {
    expect(await codeOf(scope.repo('projects').create({ name: sql`current_user` } as never))).toBe('VALIDATION')
    expect(await codeOf(scope.repo('projects').updateMany({ name: 'A1' }, { name: sql`(select string_agg(name, ',') from projects)` } as never))).toBe(
      'VALIDATION',
    )
    expect(await namesOf(tenantId)).toEqual(['A1', 'A2', 'A3'])
  })

  it('refuses a bulk write whose filter has no condition; ALL_ROWS names every row of the tenant', async () => {
    expect(await codeOf(scope.repo('projects').softDeleteMany({ name: undefined } as never))).toBe('VALIDATION')
    expect(await codeOf(scope.repo('projects').softDeleteMany({}))).toBe('VALIDATION')
    expect(await namesOf(tenantId)).toEqual(['A1', 'A2', 'A3'])
    const scratch = await tenantry.asSystem({ reason: 'consumer check' }).tenants.create({ slug: 'scratch', name: 'Scratch' })
    const repo = tenantry.withContext({ tenantId: scratch.id }).repo('projects')
    await repo.createMany([{ name: 'S1' }, { name: 'S2' }])
    expect(await repo.softDeleteMany(ALL_ROWS)).toEqual({ count: 2 })
    expect(await namesOf(scratch.id)).toEqual([])
    expect(await namesOf(otherTenantId)).toEqual(['B1', 'B2'])
  })

  it('scope.db orders by direction and sees only the tenant', async () => {
    const rows = await scope.db.selectFrom('projects').select('name').orderBy('name', 'desc').execute()
    expect(rows.map((r) => r.name)).toEqual(['A3', 'A2', 'A1'])
  })

  it("scope.db refuses tenantry's functions and token tables", async () => {
    const db = scope.db as any
    expect(
      await codeOf(
        db
          .selectFrom((eb: any) => eb.fn('tenantry.tokens_list_sessions', [eb.val(randomUUID())]).as('s'))
          .selectAll()
          .execute(),
      ),
    ).toBe('FORBIDDEN')
    expect(await codeOf(db.selectFrom('tenantry.refresh_tokens').selectAll().execute())).toBe('FORBIDDEN')
  })

  it('an unknown option key is VALIDATION, and the row keeps its value', async () => {
    const [row] = await scope.repo('projects').findMany({ where: { name: 'A1' } })
    const call = scope.repo('projects').update(row!.id, { name: 'A1 renamed' }, { expectedUpdateAt: new Date() } as never)
    expect(await codeOf(call)).toBe('VALIDATION')
    expect(await namesOf(tenantId)).toContain('A1')
  })
})
