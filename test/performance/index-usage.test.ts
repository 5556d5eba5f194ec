import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, type Tenantry } from '../../src/index.js'
import { benchTables } from '../../bench/bench-tables.js'
import { createHostTable, seedHostData, type BenchDB } from '../../bench/host-fixture.js'
import { useFileDatabase } from '../support/test-database.js'

/**
 * Every query shape tenantry sends for a repository or the audit log must be able to use a
 * tenant-leading index: at a million rows a sequential scan is the difference between a
 * millisecond and a second. The fixture is small, so the planner is told to avoid sequential
 * scans (`enable_seqscan = off`, transaction-local); one that remains has no index to use.
 * The SQL explained is exactly what tenantry sent, captured from the pool with its parameters.
 */

interface SentQuery {
  text: string
  values: unknown[]
}

const fileDb = await useFileDatabase()
const SCANNED = new Set(['projects', 'audit_logs'])
let tenantry: Tenantry<BenchDB>
let recorder: { pool: pg.Pool; sent: SentQuery[] }
let tenantId: string

function recordingPool(url: string): { pool: pg.Pool; sent: SentQuery[] } {
  const sent: SentQuery[] = []
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  // The file's database is dropped WITH (FORCE) after the file; an idle client cut off then is expected.
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [first, second] = args as [unknown, unknown]
      if (typeof first === 'string') sent.push({ text: first, values: Array.isArray(second) ? second : [] })
      else if (first && typeof first === 'object' && 'text' in first) {
        const config = first as { text: string; values?: unknown[] }
        sent.push({ text: config.text, values: config.values ?? [] })
      }
      return query(...args)
    }
  })
  return { pool, sent }
}

/** Runs `fn` and returns the statements it sent (BEGIN/COMMIT and context settings left out). */
async function captured(fn: () => Promise<unknown>): Promise<SentQuery[]> {
  const before = recorder.sent.length
  await fn()
  return recorder.sent.slice(before).filter((q) => /^\s*(select|with|insert|update|delete)\b/i.test(q.text) && !/set_config\(/.test(q.text))
}

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Index Cond'?: string
  Filter?: string
  Plans?: PlanNode[]
}

function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan
  for (const child of plan.Plans ?? []) yield* nodes(child)
}

/** `SHOW_PLANS=1 npx vitest run test/performance` prints each statement's plan, index conditions and filters. */
function describePlan(query: SentQuery, plan: PlanNode): string {
  const steps = [...nodes(plan)].map((n) => {
    if (n['Index Name']) return `${n['Node Type']}(${n['Index Name']}; cond ${n['Index Cond'] ?? '-'}; filter ${n.Filter ?? '-'})`
    return n['Relation Name'] ? `${n['Node Type']}(${n['Relation Name']})` : n['Node Type']
  })
  return `${query.text.replace(/\s+/g, ' ').slice(0, 160)}\n    ${steps.join(' > ')}`
}

/** Sequential scans of the scoped host table or the audit log in the plan of `query`, with seqscan discouraged. */
async function sequentialScans(query: SentQuery): Promise<string[]> {
  const client = await fileDb.pool.connect()
  try {
    await client.query('begin')
    await client.query('set local enable_seqscan = off')
    const { rows } = await client.query(`explain (format json) ${query.text}`, query.values)
    const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan
    if (process.env.SHOW_PLANS) console.log(describePlan(query, plan))
    return [...nodes(plan)].filter((n) => n['Node Type'] === 'Seq Scan' && SCANNED.has(n['Relation Name'] ?? '')).map((n) => n['Relation Name']!)
  } finally {
    await client.query('rollback')
    client.release()
  }
}

beforeAll(async () => {
  await createHostTable(fileDb.db)
  ;[tenantId] = (await seedHostData(fileDb.db, { tenants: 20, rowsPerTenant: 50, auditRowsPerTenant: 20 })) as [string]
  recorder = recordingPool(fileDb.url)
  tenantry = createTenantry<BenchDB>({ pool: recorder.pool, tables: benchTables })
  await tenantry.ready()
  return async () => {
    await recorder.pool.end()
  }
})

describe('index usage of every repository query shape (enable_seqscan = off)', () => {
  it('plans no sequential scan of the host table or audit_logs for reads, writes and audit reads', async () => {
    const scope = tenantry.withContext({ tenantId, actorId: '00000000-0000-4000-8000-000000000001' })
    const repo = scope.repo('projects')
    const [first] = await repo.findMany({ limit: 1 })
    const id = first!.id
    const firstPage = await repo.page({
      orderBy: [
        ['created_at', 'desc'],
        ['id', 'desc'],
      ],
      limit: 5,
    })
    const shapes: Record<string, () => Promise<unknown>> = {
      findById: () => repo.findById(id),
      'findMany orderBy created_at': () => repo.findMany({ orderBy: ['created_at', 'desc'], limit: 50 }),
      'findMany where': () => repo.findMany({ where: { status: 'active', batch: 3 }, limit: 50 }),
      'page first': () =>
        repo.page({
          orderBy: [
            ['created_at', 'desc'],
            ['id', 'desc'],
          ],
          limit: 5,
        }),
      'page after cursor': () =>
        repo.page({
          orderBy: [
            ['created_at', 'desc'],
            ['id', 'desc'],
          ],
          limit: 5,
          after: firstPage.nextCursor,
        }),
      'page by primary key': () => repo.page({ limit: 5 }),
      count: () => repo.count(),
      exists: () => repo.exists({ where: { batch: 2 } }),
      'withDeleted findById': () => repo.withDeleted().findById(id),
      'onlyDeleted count': () => repo.onlyDeleted().count(),
      create: () => repo.create({ name: 'indexed' }),
      createMany: () => repo.createMany([{ name: 'indexed 1' }, { name: 'indexed 2' }]),
      update: () => repo.update(id, { name: 'renamed' }),
      'update expectedUpdatedAt': async () => {
        const row = (await repo.findById(id))!
        await repo.update(id, { name: 'renamed again' }, { expectedUpdatedAt: row.updated_at })
      },
      updateMany: () => repo.updateMany({ batch: 4 }, { status: 'paused' }),
      softDelete: () => repo.softDelete(id),
      restore: () => repo.restore(id),
      softDeleteMany: () => repo.softDeleteMany({ batch: 5 }),
      purge: async () => repo.purge((await repo.create({ name: 'to purge' })).id),
      'auditLog list': () => scope.auditLog.list({ limit: 20 }),
      'auditLog by resource': () => scope.auditLog.list({ resourceType: 'projects', resourceId: id, limit: 20 }),
      'auditLog by actor': () => scope.auditLog.list({ actorId: '00000000-0000-4000-8000-000000000001', limit: 20 }),
      'auditLog by action': () => scope.auditLog.list({ action: 'projects.update', limit: 20 }),
    }
    const findings: Record<string, string[]> = {}
    let explained = 0
    for (const [shape, run] of Object.entries(shapes)) {
      for (const query of await captured(run)) {
        explained++
        const scans = await sequentialScans(query)
        if (scans.length > 0) findings[shape] = [...(findings[shape] ?? []), ...scans]
      }
    }
    expect(explained).toBeGreaterThanOrEqual(Object.keys(shapes).length)
    expect(findings).toEqual({})
    // The writes really happened (the explained statements were the real ones, not stand-ins).
    const audited = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select('action')
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'projects.purge')
      .execute()
    expect(audited).toHaveLength(1)
  })

  it('flags a query shape that no index serves (the check itself works)', async () => {
    const scans = await sequentialScans({ text: 'select * from projects where name = $1', values: ['nobody'] })
    expect(scans).toEqual(['projects'])
  })
})
