import { sql, type Generated } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase } from './support/consumer-database.js'

interface OpsDB {
  deployments: {
    id: Generated<string>
    tenant_id: string
    environment: string
    status: string
    deployed_at: Date | null
    deleted_at: Date | null
  }
}

const { pool, tenantId } = await useConsumerDatabase()
const tenantry = createTenantry<OpsDB>({
  pool,
  tables: { deployments: defineTable<OpsDB, 'deployments'>({ table: 'deployments', softDelete: 'deleted_at' }) },
})
const deployments = () => tenantry.withContext({ tenantId }).repo('deployments')

beforeAll(async () => {
  await sql`create table deployments (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants (id),
    environment text not null,
    status text not null,
    deployed_at timestamptz,
    deleted_at timestamptz
  )`.execute(tenantry.kysely)
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute))
  await deployments().createMany([
    { environment: 'production', status: 'ok', deployed_at: at(1) },
    { environment: 'production', status: 'failed', deployed_at: at(2) },
    { environment: 'staging', status: 'ok', deployed_at: null },
    { environment: 'staging', status: 'Failed-API', deployed_at: at(3) },
    { environment: 'preview', status: 'ok', deployed_at: null },
  ])
})

describe('queries, from the installed package', () => {
  it('composes or/not and searches case-insensitively', async () => {
    const rows = await deployments().findMany({
      where: { or: [{ environment: 'preview' }, { status: { contains: 'FAILED', mode: 'insensitive' } }], not: { environment: 'production' } },
      orderBy: ['environment', 'asc'],
    })
    expect(rows.map((r) => [r.environment, r.status])).toEqual([
      ['preview', 'ok'],
      ['staging', 'Failed-API'],
    ])
  })

  it('counts per group as numbers in one statement', async () => {
    const groups = await deployments().aggregate({ groupBy: 'environment', count: true })
    expect(groups).toEqual([
      { environment: 'preview', count: 1 },
      { environment: 'production', count: 2 },
      { environment: 'staging', count: 2 },
    ])
  })

  it('pages across the nulls of a nullable column, every row once', async () => {
    const seen: { id: string; deployed_at: Date | null }[] = []
    let after: string | null = null
    do {
      const page = await deployments().page({ orderBy: [['deployed_at', 'desc']], limit: 2, after })
      seen.push(...page.items)
      after = page.nextCursor
    } while (after)
    const { rows } = await pool.query<{ id: string }>('select id from deployments where tenant_id = $1', [tenantId])
    expect(new Set(seen.map((r) => r.id))).toEqual(new Set(rows.map((r) => r.id)))
    expect(seen).toHaveLength(rows.length)
    // desc puts NULLs first, as PostgreSQL does.
    expect(seen.map((r) => r.deployed_at?.getUTCMinutes() ?? null)).toEqual([null, null, 3, 2, 1])
  })

  it('pages after the exact microseconds of the last row, even when that row moves within its millisecond', async () => {
    await sql`insert into deployments (tenant_id, environment, status, deployed_at)
      select ${tenantId}::uuid, 'batch', 'ok', '2026-02-01 00:00:00.0001+00'::timestamptz + i * interval '100 microseconds'
        from generate_series(0, 5) as i`.execute(tenantry.kysely)
    try {
      const where = { environment: 'batch' }
      const first = await deployments().page({ where, orderBy: [['deployed_at', 'asc']], limit: 2 })
      // The page's last row (.000200) moves to .000450, past the next two rows (.000300, .000400).
      await sql`update deployments set deployed_at = deployed_at + interval '250 microseconds' where id = ${first.items[1]!.id}`.execute(tenantry.kysely)
      const second = await deployments().page({ where, orderBy: [['deployed_at', 'asc']], limit: 10, after: first.nextCursor })
      const { rows } = await pool.query<{ id: string }>(
        `select id from deployments where tenant_id = $1 and environment = 'batch' and deployed_at > '2026-02-01 00:00:00.0002+00' order by deployed_at, id`,
        [tenantId],
      )
      expect(rows).toHaveLength(5)
      expect(second.items.map((r) => r.id)).toEqual(rows.map((r) => r.id))
    } finally {
      await sql`delete from deployments where environment = 'batch'`.execute(tenantry.kysely)
    }
  })
})

describe('row locks, from the installed package', () => {
  it('locks a row inside scope.transaction and refuses a lock outside one', async () => {
    const [first] = await deployments().findMany({ limit: 1, orderBy: ['environment', 'asc'] })
    const outside = await deployments()
      .findById(first!.id, { lock: 'update' })
      .catch((e: unknown) => e)
    expect(outside).toMatchObject({ code: 'VALIDATION' })
    const locked = await tenantry.withContext({ tenantId }).transaction(async (tx) => {
      const row = await tx.repo('deployments').findById(first!.id, { lock: 'update' })
      const { rows } = await pool.query<{ n: number }>(
        "select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'deployments' and l.mode = 'RowShareLock'",
      )
      return { row, heldLocks: rows[0]!.n }
    })
    expect(locked.row?.id).toBe(first!.id)
    expect(locked.heldLocks).toBeGreaterThan(0)
  })
})
