import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { createAppRole, type AppRole } from './support/app-role.js'

/**
 * `createMany` beyond one statement's bind values under `isolation: 'rls'`, as the non-owner
 * application role: every statement of the batch runs in the one transaction that carries the
 * tenant context, so the policies accept each row and the batch stays all-or-nothing.
 */

const fileDb = await useFileDatabase()
let app: Tenantry<AppDB>
let role: AppRole
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'bulk-rls-a')
  tenantB = await insertTenant(fileDb.db, 'bulk-rls-b')
  await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
  role = await createAppRole(fileDb, { poolSize: 2 })
  app = makeTenantry(role.pool, { isolation: 'rls' })
  await app.ready()
})

async function counts(tenantId: string, prefix: string) {
  const { rows } = await sql<{ rows: number; audits: number }>`select
      (select count(*)::int from projects where tenant_id = ${tenantId} and name like ${`${prefix}%`}) as rows,
      (select count(*)::int from tenantry.audit_logs where tenant_id = ${tenantId} and action = 'projects.create'
         and outcome = 'success' and new_values ->> 'name' like ${`${prefix}%`}) as audits`.execute(fileDb.db)
  return rows[0]!
}

describe("createMany over several statements with isolation 'rls' (application role)", () => {
  it('inserts 20,000 rows of 4 columns (80,000 values; 20 statements, one transaction) with one audit row each, in the scope tenant only', async () => {
    fileDb.roundTrips.reset()
    role.roundTrips.reset()
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ name: `bulk-${i}`, budget: i, tags: { i } }))
    const created = await app.withContext({ tenantId: tenantA }).repo('projects').createMany(rows)
    expect(created).toHaveLength(20_000)
    expect(created.every((row) => row.tenant_id === tenantA)).toBe(true)
    expect(await counts(tenantA, 'bulk-')).toEqual({ rows: 20_000, audits: 20_000 })
    expect(await counts(tenantB, 'bulk-')).toEqual({ rows: 0, audits: 0 })
    // BEGIN + context + 20 inserts + COMMIT at most: never a statement per row.
    expect(role.roundTrips.count).toBeLessThanOrEqual(24)
  }, 120_000)

  it('writes none of the batch when a later row names another tenant', async () => {
    const rows: Record<string, unknown>[] = Array.from({ length: 2_500 }, (_, i) => ({ name: `foreign-${i}` }))
    rows[2_400] = { name: 'foreign-x', tenant_id: tenantB }
    const error = await app
      .withContext({ tenantId: tenantA })
      .repo('projects')
      .createMany(rows as never)
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'FORBIDDEN')).toBe(true)
    expect(await counts(tenantA, 'foreign-')).toEqual({ rows: 0, audits: 0 })
    expect(await counts(tenantB, 'foreign-')).toEqual({ rows: 0, audits: 0 })
  })

  it('refuses a NUL byte in a late row with VALIDATION naming the column, writing nothing', async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => ({ name: i === 2_499 ? 'nul-\u0000-zz' : `nul-${i}` }))
    const error = await app
      .withContext({ tenantId: tenantA })
      .repo('projects')
      .createMany(rows)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'VALIDATION', column: 'name', operation: 'projects.createMany' })
    expect((error as Error).message).not.toContain('zz')
    expect(await counts(tenantA, 'nul-')).toEqual({ rows: 0, audits: 0 })
  })
})
