import { createHash, createHmac } from 'node:crypto'
import { Kysely, PostgresDialect, sql, type Generated } from 'kysely'
import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, type OrderByInput, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createAppRole, type AppRole } from '../isolation/support/app-role.js'

interface DeployDB {
  deployments: {
    id: Generated<string>
    tenant_id: string
    environment: string
    deployed_at: Date | null
    created_at: Generated<Date>
    scheduled_at: Date
    due_on: Date | null
    meta: Generated<Record<string, unknown>>
  }
}

const fileDb = await useFileDatabase()
const tables = { deployments: defineTable<DeployDB, 'deployments'>({ table: 'deployments' }) }
const KEY = 'a shared cursor key of at least thirty-two bytes'
let tenantry: Tenantry<DeployDB>
let tenantId: string
let otherTenantId: string

/** Deployed times with ties, NULLs, and values one microsecond apart inside one millisecond. */
const DEPLOYED = [
  null,
  '2026-01-01 10:00:00.000001+00',
  '2026-01-01 10:00:00.000002+00',
  '2026-01-01 10:00:00.000999+00',
  '2026-01-01 10:00:00.001+00',
  '2026-01-02 08:30:00.123456+00',
]

beforeAll(async () => {
  await sql`
    create table deployments (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      environment text not null,
      deployed_at timestamptz,
      created_at timestamptz not null default now(),
      scheduled_at timestamp not null,
      due_on date,
      meta jsonb not null default '{}'
    );
    create index deployments_tenant_deployed_idx on deployments (tenant_id, deployed_at, id);
    create index deployments_tenant_created_idx on deployments (tenant_id, created_at, id);`.execute(fileDb.db)
  tenantry = createTenantry<DeployDB>({ pool: fileDb.pool, tables, cursorKey: KEY })
  const system = tenantry.asSystem({ reason: 'keyset page tests' })
  tenantId = (await system.tenants.create({ slug: 'keyset', name: 'Keyset' })).id
  otherTenantId = (await system.tenants.create({ slug: 'keyset-other', name: 'Keyset other' })).id
  // 42 rows: every deployed time (NULL included) 7 times, in two environments, and created_at
  // values that differ only by microseconds (several within one millisecond).
  for (const tenant of [tenantId, otherTenantId]) {
    await sql`
      insert into deployments (tenant_id, environment, scheduled_at, due_on, deployed_at, created_at)
      select ${tenant}::uuid, case when i % 2 = 0 then 'prod' else 'staging' end,
             '2026-03-01 12:00:00'::timestamp + (i % 5) * interval '3 microseconds',
             case when i % 4 = 0 then null else date '2026-04-01' + (i % 3) end,
             (array[${sql.join(DEPLOYED.map((d) => sql`${d}::timestamptz`))}])[1 + i % ${DEPLOYED.length}],
             '2026-03-01 00:00:00+00'::timestamptz + (i / 3) * interval '1 microsecond' + (i % 3) * interval '1 millisecond'
        from generate_series(0, 41) as i`.execute(fileDb.db)
  }
})

const repo = (tenant = tenantId, t: Tenantry<DeployDB> = tenantry) => t.withContext({ tenantId: tenant }).repo('deployments')

/** Walks every page (of the rows matching `where`, when given) and returns the ids in the order the pages gave them. */
async function walk(orderBy: OrderByInput<string>, limit: number, t: Tenantry<DeployDB> = tenantry, where?: Record<string, unknown>): Promise<string[]> {
  const seen: string[] = []
  let after: string | null = null
  for (let pages = 0; pages < 100; pages++) {
    const page: { items: { id: string }[]; nextCursor: string | null } = await repo(tenantId, t).page({
      ...(where ? { where: where as never } : {}),
      orderBy: orderBy as never,
      limit,
      after,
    })
    seen.push(...page.items.map((r) => r.id))
    after = page.nextCursor
    if (!after) return seen
  }
  throw new Error('pages never ended')
}

/** The same ordering, as PostgreSQL sorts it with the microseconds the database holds. */
async function expected(orderSql: string): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`select id from deployments where tenant_id = ${tenantId} order by ${sql.raw(orderSql)}`.execute(fileDb.db)
  return rows.map((r) => r.id)
}

describe('keyset pages on a nullable column', () => {
  const orderings: [string, OrderByInput<string>, string][] = [
    ['desc (NULLs first)', [['deployed_at', 'desc']], 'deployed_at desc nulls first, id desc'],
    ['asc (NULLs last)', [['deployed_at', 'asc']], 'deployed_at asc nulls last, id asc'],
    ['asc, nullsFirst', [['deployed_at', 'asc', 'nullsFirst']], 'deployed_at asc nulls first, id asc'],
    ['desc, nullsLast', [['deployed_at', 'desc', 'nullsLast']], 'deployed_at desc nulls last, id desc'],
    [
      'asc then environment desc',
      [
        ['deployed_at', 'asc'],
        ['environment', 'desc'],
      ],
      'deployed_at asc nulls last, environment desc, id desc',
    ],
    ['desc nullsLast then environment asc', [['deployed_at', 'desc', 'nullsLast'], 'environment'], 'deployed_at desc nulls last, environment asc, id asc'],
    ['environment, then deployed_at desc', ['environment', ['deployed_at', 'desc']], 'environment asc, deployed_at desc nulls first, id desc'],
  ]
  for (const [name, orderBy, orderSql] of orderings) {
    it(`returns every row exactly once across the NULL boundary, ${name}`, async () => {
      const all = await expected(orderSql)
      expect(all).toHaveLength(42)
      for (const limit of [1, 4, 7, 41]) {
        const seen = await walk(orderBy, limit)
        expect(new Set(seen).size).toBe(seen.length)
        expect(seen).toEqual(all)
      }
    })
  }

  it('spells out a NULLs order that differs from the default in findMany too', async () => {
    const rows = await repo().findMany({ orderBy: [['deployed_at', 'asc', 'nullsFirst']], limit: 50 })
    expect(rows.slice(0, 7).every((r) => r.deployed_at === null)).toBe(true)
    expect(rows.at(-1)!.deployed_at).not.toBeNull()
  })
})

describe('keyset pages on microsecond timestamps', () => {
  for (const direction of ['asc', 'desc'] as const) {
    it(`neither skips nor repeats rows whose created_at differ by microseconds (${direction})`, async () => {
      const all = await expected(`created_at ${direction}, id ${direction}`)
      for (const limit of [1, 2, 5]) expect(await walk([['created_at', direction]], limit)).toEqual(all)
    })
  }

  it('pages exactly when a page ends where the millisecond changes, whatever the later sort keys', async () => {
    // 14 rows per millisecond: pages of 7 and 14 end on each millisecond's last row (a millisecond bound),
    // pages of 5 end inside one too (the exact value is read back); environment as a second key in mixed direction.
    for (const direction of ['asc', 'desc'] as const) {
      for (const limit of [5, 7, 14]) {
        expect(await walk([['created_at', direction]], limit)).toEqual(await expected(`created_at ${direction}, id ${direction}`))
        expect(
          await walk(
            [
              ['created_at', direction],
              ['environment', direction === 'asc' ? 'desc' : 'asc'],
            ],
            limit,
          ),
        ).toEqual(await expected(`created_at ${direction}, environment ${direction === 'asc' ? 'desc' : 'asc'}, id ${direction === 'asc' ? 'desc' : 'asc'}`))
      }
    }
  })

  it('pages exactly through rows that share one created_at to the microsecond (one insert), with and without a filter', async () => {
    await sql`
      insert into deployments (tenant_id, environment, scheduled_at, created_at)
      select ${tenantId}::uuid, 'batch', now()::timestamp, '2026-06-01 00:00:00.123456+00'::timestamptz + (i / 8) * interval '1 microsecond'
        from generate_series(0, 23) as i`.execute(fileDb.db)
    try {
      for (const direction of ['asc', 'desc'] as const) {
        for (const limit of [3, 5, 8]) {
          expect(await walk([['created_at', direction]], limit)).toEqual(await expected(`created_at ${direction}, id ${direction}`))
          const batch = await walk([['created_at', direction]], limit, tenantry, { environment: 'batch' })
          const { rows } = await sql<{ id: string }>`
            select id from deployments where tenant_id = ${tenantId} and environment = 'batch'
             order by created_at ${sql.raw(direction)}, id ${sql.raw(direction)}`.execute(fileDb.db)
          expect(batch).toEqual(rows.map((r) => r.id))
        }
      }
    } finally {
      await sql`delete from deployments where environment = 'batch'`.execute(fileDb.db)
    }
  })

  it('skips no row when the cursor row moves within its millisecond before the next page', async () => {
    await sql`
      insert into deployments (tenant_id, environment, scheduled_at, created_at)
      select ${tenantId}::uuid, 'moving', now()::timestamp, '2026-07-01 00:00:00.0001+00'::timestamptz + i * interval '100 microseconds'
        from generate_series(0, 5) as i`.execute(fileDb.db)
    try {
      for (const direction of ['asc', 'desc'] as const) {
        const where = { environment: 'moving' } as never
        const first = await repo().page({ where, orderBy: [['created_at', direction]], limit: 2 })
        const moved = first.items[1]!
        // The cursor row jumps 250 µs past the next two rows in the page's direction.
        const shift = direction === 'asc' ? sql`+ interval '250 microseconds'` : sql`- interval '250 microseconds'`
        await sql`update deployments set created_at = created_at ${shift} where id = ${moved.id}`.execute(fileDb.db)
        const second = await repo().page({ where, orderBy: [['created_at', direction]], limit: 10, after: first.nextCursor })
        const ids = second.items.map((r) => r.id)
        const { rows } = await sql<{ id: string }>`
          select id from deployments where environment = 'moving' and id <> ${first.items[0]!.id}
           order by created_at ${sql.raw(direction)}, id ${sql.raw(direction)}`.execute(fileDb.db)
        // Every row after the cursor's position, the moved row included where it now sorts.
        expect(ids).toEqual(rows.map((r) => r.id))
        await sql`update deployments set created_at = created_at ${direction === 'asc' ? sql`- interval '250 microseconds'` : sql`+ interval '250 microseconds'`} where id = ${moved.id}`.execute(
          fileDb.db,
        )
      }
    } finally {
      await sql`delete from deployments where environment = 'moving'`.execute(fileDb.db)
    }
  })

  it("parses a page's rows with the pool's own type parsers, and pages exactly with them", async () => {
    // A host pool that reads timestamptz as { at: text } objects and int8 as bigint.
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === 1184 ? (text: string) => ({ at: text }) : oid === 20 ? (text: string) => BigInt(text) : pg.types.getTypeParser(oid, format as 'text'),
    }
    const pool = new pg.Pool({ connectionString: fileDb.url, max: 2, types })
    try {
      const hosted = createTenantry<DeployDB>({ pool, tables, cursorKey: KEY })
      const first = await repo(tenantId, hosted).page({ orderBy: [['created_at', 'desc']], limit: 4 })
      expect(first.items[0]!.created_at).toEqual({ at: expect.stringMatching(/^2026-03-01 00:00:00\.\d{6}\+00$/) })
      for (const direction of ['asc', 'desc'] as const) {
        expect(await walk([['created_at', direction]], 4, hosted)).toEqual(await expected(`created_at ${direction}, id ${direction}`))
      }
    } finally {
      await pool.end()
    }
  })

  it("pages exactly through a host's own Kysely over a pool tenantry does not guard (the microseconds read back by key)", async () => {
    const pool = new pg.Pool({ connectionString: fileDb.url, max: 2 })
    try {
      const hosted = createTenantry<DeployDB>({ db: new Kysely<DeployDB>({ dialect: new PostgresDialect({ pool }) }), tables, cursorKey: KEY })
      for (const direction of ['asc', 'desc'] as const) {
        expect(await walk([['created_at', direction]], 4, hosted)).toEqual(await expected(`created_at ${direction}, id ${direction}`))
      }
    } finally {
      await pool.end()
    }
  })

  it('pages exactly by a timestamp without time zone and by a nullable date', async () => {
    for (const limit of [1, 3]) {
      expect(await walk([['scheduled_at', 'desc']], limit)).toEqual(await expected('scheduled_at desc, id desc'))
      expect(
        await walk(
          [
            ['due_on', 'asc'],
            ['scheduled_at', 'asc'],
          ],
          limit,
        ),
      ).toEqual(await expected('due_on asc nulls last, scheduled_at asc, id asc'))
    }
  })

  it('refuses a sort key whose values are not scalars before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    await expect(repo().page({ orderBy: 'meta' })).rejects.toMatchObject({ code: 'VALIDATION', column: 'meta' })
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('skips no row when the row a cursor was made from is purged before the next page', async () => {
    const fx = await sql<{ id: string }>`
      insert into deployments (tenant_id, environment, scheduled_at, created_at)
      select ${tenantId}::uuid, 'purge-' || i, now()::timestamp, '2026-05-01 00:00:00.000500+00'::timestamptz + i * interval '1 microsecond'
        from generate_series(0, 5) as i returning id`.execute(fileDb.db)
    expect(fx.rows).toHaveLength(6)
    const where = { environment: { like: 'purge-%' } } as never
    const first = await repo().page({ where, orderBy: ['created_at', 'asc'], limit: 3 })
    await sql`delete from deployments where id = ${first.items.at(-1)!.id}`.execute(fileDb.db)
    const second = await repo().page({ where, orderBy: ['created_at', 'asc'], limit: 10, after: first.nextCursor })
    const remaining = await expected(`created_at asc, id asc`)
    const purgeRows = (await repo().findMany({ where, orderBy: ['created_at', 'asc'] })).map((r) => r.id)
    // Every row after the purged one is on the second page (a row of the same millisecond may repeat).
    expect(second.items.map((r) => r.id)).toEqual(expect.arrayContaining(purgeRows.slice(2)))
    expect(remaining).toEqual(expect.arrayContaining(purgeRows))
    await sql`delete from deployments where environment like 'purge-%'`.execute(fileDb.db)
  })
})

describe('page rows and cursors', () => {
  it('returns rows with exactly the table columns (no cursor column)', async () => {
    const page = await repo().page({ orderBy: [['deployed_at', 'desc']], limit: 3 })
    for (const item of page.items)
      expect(Object.keys(item).sort()).toEqual(['created_at', 'deployed_at', 'due_on', 'environment', 'id', 'meta', 'scheduled_at', 'tenant_id'])
  })

  it('refuses a tampered cursor with VALIDATION', async () => {
    const { nextCursor } = await repo().page({ orderBy: [['deployed_at', 'desc']], limit: 10 })
    const [body, mac] = nextCursor!.split('.') as [string, string]
    const values = JSON.parse(Buffer.from(body, 'base64url').toString()) as (string | null)[]
    const edited = Buffer.from(JSON.stringify([null, values[1]])).toString('base64url')
    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`
    for (const after of [`${edited}.${mac}`, `${body}.${flipped}`, `${body}.`, body, `${body}.${mac}.x`, 'garbage', '', 42]) {
      await expect(repo().page({ orderBy: [['deployed_at', 'desc']], limit: 10, after: after as string })).rejects.toMatchObject({
        code: 'VALIDATION',
        message: 'deployments.page: invalid cursor',
      })
    }
    await expect(repo().page({ orderBy: [['deployed_at', 'asc']], limit: 10, after: nextCursor })).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it("refuses another tenant's cursor", async () => {
    const { nextCursor } = await repo(otherTenantId).page({ orderBy: [['deployed_at', 'desc']], limit: 5 })
    await expect(repo().page({ orderBy: [['deployed_at', 'desc']], limit: 5, after: nextCursor })).rejects.toMatchObject({ code: 'VALIDATION' })
    // The rows of the other tenant never show up, whatever the cursor says.
    const mine = await repo().page({ orderBy: [['deployed_at', 'desc']], limit: 50 })
    const owners = await fileDb.db
      .selectFrom('deployments')
      .select('tenant_id')
      .where(
        'id',
        'in',
        mine.items.map((r) => r.id),
      )
      .execute()
    expect(new Set(owners.map((o) => o.tenant_id))).toEqual(new Set([tenantId]))
  })

  it('refuses a cursor forged by recomputing a hash or a MAC under another key', async () => {
    const { nextCursor } = await repo().page({ orderBy: [['deployed_at', 'desc']], limit: 5 })
    const body = nextCursor!.split('.')[0]!
    const forgedBody = Buffer.from(JSON.stringify([null, '00000000-0000-0000-0000-000000000000'])).toString('base64url')
    const order = 'deployed_at desc nulls first,id desc nulls first'
    const prefix = `tenantry-cursor-v1\0public.deployments\0deployments\0${tenantId}\0${order}\0`
    const forgeries = [
      // The former scheme: a bare SHA-256 over table, tenant and body.
      `${forgedBody}.${createHash('sha256').update(`deployments\0${tenantId}\0${forgedBody}`).digest('base64url').slice(0, 16)}`,
      `${forgedBody}.${createHash('sha256')
        .update(prefix + forgedBody)
        .digest()
        .subarray(0, 16)
        .toString('base64url')}`,
      `${forgedBody}.${createHmac('sha256', 'another key of at least thirty-two bytes!')
        .update(prefix + forgedBody)
        .digest()
        .subarray(0, 16)
        .toString('base64url')}`,
    ]
    // The attacker's recipe is right: with the real key it yields an accepted cursor.
    const genuine = `${body}.${createHmac('sha256', KEY)
      .update(prefix + body)
      .digest()
      .subarray(0, 16)
      .toString('base64url')}`
    expect(genuine).toBe(nextCursor)
    for (const after of forgeries) {
      await expect(repo().page({ orderBy: [['deployed_at', 'desc']], limit: 5, after })).rejects.toMatchObject({ code: 'VALIDATION' })
    }
  })

  it('accepts a cursor made by another instance with the same cursorKey, and refuses one signed by a random instance key', async () => {
    const peer = createTenantry<DeployDB>({ pool: fileDb.pool, tables, cursorKey: KEY })
    const lone = createTenantry<DeployDB>({ pool: fileDb.pool, tables })
    const first = await repo(tenantId, peer).page({ orderBy: [['deployed_at', 'desc']], limit: 5 })
    const second = await repo().page({ orderBy: [['deployed_at', 'desc']], limit: 5, after: first.nextCursor })
    expect(second.items.map((r) => r.id)).toEqual((await expected('deployed_at desc, id desc')).slice(5, 10))
    await expect(repo(tenantId, lone).page({ orderBy: [['deployed_at', 'desc']], limit: 5, after: first.nextCursor })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it("derives the cursor key from the token signing key, so instances sharing tokens.keys accept each other's cursors", async () => {
    const tokens = { keys: { k1: 'a token signing key of thirty-two bytes or more' } }
    const a = createTenantry<DeployDB>({ pool: fileDb.pool, tables, tokens })
    const b = createTenantry<DeployDB>({ pool: fileDb.pool, tables, tokens })
    const first = await repo(tenantId, a).page({ orderBy: [['created_at', 'asc']], limit: 4 })
    const second = await repo(tenantId, b).page({ orderBy: [['created_at', 'asc']], limit: 4, after: first.nextCursor })
    expect(second.items.map((r) => r.id)).toEqual((await expected('created_at asc, id asc')).slice(4, 8))
    await expect(repo().page({ orderBy: [['created_at', 'asc']], limit: 4, after: first.nextCursor })).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('refuses a short cursorKey without naming it', () => {
    let error: unknown
    try {
      createTenantry<DeployDB>({ pool: fileDb.pool, tables, cursorKey: 'short-secret' })
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'CONFIGURATION' })
    expect(String((error as Error).message)).not.toContain('short-secret')
  })
})

describe('index use of the keyset predicate', () => {
  /** Index conditions of the plan of the statement `fn` sends through `tenantry`'s pool. */
  let lastSent: { text: string; values: unknown[] } = { text: '', values: [] }
  async function indexConditions(fn: (t: Tenantry<DeployDB>) => Promise<unknown>): Promise<string[]> {
    const sent: { text: string; values: unknown[] }[] = []
    const pool = new pg.Pool({ connectionString: fileDb.url, max: 1 })
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        // A page's statement may arrive as a query config (with the parsers that record timestamps' text).
        const [text, values] =
          typeof args[0] === 'string' ? [args[0], args[1]] : [(args[0] as { text?: string })?.text, (args[0] as { values?: unknown })?.values]
        if (typeof text === 'string' && /^\s*select t\.\*/.test(text)) sent.push({ text, values: (values as unknown[]) ?? [] })
        return query(...args)
      }
    })
    try {
      await fn(createTenantry<DeployDB>({ pool, tables, cursorKey: KEY }))
      lastSent = sent.at(-1)!
      const client = await pool.connect()
      try {
        await client.query('begin')
        await client.query('set local enable_seqscan = off')
        const { rows } = await client.query(`explain (format json) ${sent.at(-1)!.text}`, sent.at(-1)!.values)
        const found: string[] = []
        const visit = (node: Record<string, unknown>) => {
          if (typeof node['Index Cond'] === 'string') found.push(node['Index Cond'])
          for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child)
        }
        visit((rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan)
        return found
      } finally {
        await client.query('rollback')
        client.release()
      }
    } finally {
      await pool.end()
    }
  }

  const nextPage =
    (orderBy: OrderByInput<string>, firstLimit = 3) =>
    async (t: Tenantry<DeployDB>) => {
      const first = await repo(tenantId, t).page({ orderBy: orderBy as never, limit: firstLimit })
      return repo(tenantId, t).page({ orderBy: orderBy as never, limit: 3, after: first.nextCursor })
    }

  it('bounds a desc page on a nullable column by a row comparison in the index condition', async () => {
    // Past the 7 NULLs, which sort first.
    const conditions = await indexConditions(nextPage([['deployed_at', 'desc']], 10))
    expect(conditions.some((c) => /ROW\(deployed_at, id\) < ROW\(/.test(c))).toBe(true)
  })

  it('bounds a page on a microsecond timestamp by a row comparison with the exact value', async () => {
    const conditions = await indexConditions(nextPage([['created_at', 'desc']]))
    expect(conditions.some((c) => /ROW\(created_at, id\) < ROW\(/.test(c))).toBe(true)
  })

  it('bounds a page that ends inside a millisecond by the exact microseconds the cursor carries, reading nothing back', async () => {
    // Desc, the first three rows are .002013, .002012 and .002011: the page ends inside that millisecond.
    const conditions = await indexConditions(nextPage([['created_at', 'desc']]))
    expect(conditions.some((c) => /ROW\(created_at, id\) < ROW\('2026-03-01 00:00:00\.002011\+00'::timestamp with time zone/.test(c))).toBe(true)
    expect(lastSent.text).not.toMatch(/coalesce|as "s"/)
  })

  it('bounds the page after a millisecond change by the millisecond alone, reading no exact value back', async () => {
    // The first 14 rows (desc) are the latest millisecond: the next page starts below it.
    const conditions = await indexConditions(nextPage([['created_at', 'desc']], 14))
    expect(conditions.some((c) => /created_at < '2026-03-01 00:00:00\.002\+00'::timestamp with time zone/.test(c))).toBe(true)
    expect(conditions.some((c) => /ROW\(/.test(c))).toBe(false)
    const ascending = await indexConditions(nextPage([['created_at', 'asc']], 14))
    expect(ascending.some((c) => /created_at >= '2026-03-01 00:00:00\.001\+00'::timestamp with time zone/.test(c))).toBe(true)
  })

  it('bounds the NULL region of an asc page by IS NULL', async () => {
    const conditions = await indexConditions(async (t) => {
      let page = await repo(tenantId, t).page({ orderBy: [['deployed_at', 'asc']], limit: 38 })
      page = await repo(tenantId, t).page({ orderBy: [['deployed_at', 'asc']], limit: 2, after: page.nextCursor })
      expect(page.items.every((r) => r.deployed_at === null)).toBe(true)
      return page
    })
    expect(conditions.some((c) => /deployed_at IS NULL/.test(c))).toBe(true)
  })
})

describe("in isolation 'rls', as the application role", () => {
  let app: Tenantry<DeployDB>

  beforeAll(async () => {
    const owner = createTenantry<DeployDB>({ pool: fileDb.pool, tables, isolation: 'rls' })
    await owner.rls.enable()
    const role: AppRole = await createAppRole(fileDb, { poolSize: 2 })
    app = createTenantry<DeployDB>({ pool: role.pool, tables, isolation: 'rls', cursorKey: KEY })
  })

  it('pages across NULLs and microsecond timestamps exactly as in query mode', async () => {
    expect(await walk([['deployed_at', 'asc']], 5, app)).toEqual(await expected('deployed_at asc nulls last, id asc'))
    expect(await walk([['created_at', 'desc']], 4, app)).toEqual(await expected('created_at desc, id desc'))
    expect(await walk([['deployed_at', 'desc', 'nullsLast'], 'environment'], 6, app)).toEqual(
      await expected('deployed_at desc nulls last, environment asc, id asc'),
    )
  })

  it("refuses another tenant's cursor, and a cursor of the query-mode instance with the same key works", async () => {
    const foreign = await repo(otherTenantId, app).page({ orderBy: [['created_at', 'desc']], limit: 3 })
    await expect(repo(tenantId, app).page({ orderBy: [['created_at', 'desc']], limit: 3, after: foreign.nextCursor })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    const first = await repo().page({ orderBy: [['created_at', 'desc']], limit: 3 })
    const second = await repo(tenantId, app).page({ orderBy: [['created_at', 'desc']], limit: 3, after: first.nextCursor })
    expect(second.items.map((r) => r.id)).toEqual((await expected('created_at desc, id desc')).slice(3, 6))
  })
})
