import { type Kysely, sql, type Generated } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, isTenantryError, type AuditEvent, type TableRepository, type Tenantry } from '../../src/index.js'
import { citusSkipReason, type CitusCluster } from '../support/citus-cluster.js'
import { type SentQuery, type StrictCluster, explainPlan, startStrictCluster } from '../support/citus-strict-pool.js'
import { repositoryConformance } from '../support/repository-conformance.js'

const skip = citusSkipReason('test/citus/audited-writes.test.ts')

interface HostDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<string>
    secret: string | null
    budget: string | null
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
}

const tables = { projects: defineTable<HostDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at', audit: { exclude: ['secret'] } }) }

type Repo = TableRepository<HostDB, 'projects'>

/** The repository write operations, in an order that leaves each one a row to work on. */
const writes: [string, (repo: Repo, ids: Record<string, string>) => Promise<unknown>][] = [
  ['create', async (repo, ids) => (ids.apollo = (await repo.create({ name: 'Apollo', secret: 's3cret', budget: '12345678901234567890.123456789' })).id)],
  [
    'createMany',
    async (repo, ids) => {
      const [gemini, mercury] = await repo.createMany([{ name: 'Gemini' }, { name: 'Mercury', budget: '7' }])
      ids.gemini = gemini!.id
      ids.mercury = mercury!.id
    },
  ],
  ['update', (repo, ids) => repo.update(ids.apollo!, { name: 'Artemis', secret: 'n3w' })],
  ['updateMany', (repo) => repo.updateMany({ status: 'active' }, { status: 'paused' })],
  ['softDelete', (repo, ids) => repo.softDelete(ids.gemini!)],
  ['softDeleteMany', (repo) => repo.softDeleteMany({ name: 'Mercury' })],
  ['restore', (repo, ids) => repo.restore(ids.gemini!)],
  ['purge', (repo, ids) => repo.purge(ids.mercury!)],
]

/** An audit row with what differs between two tenants' identical histories taken out. */
function comparable(row: Record<string, unknown>, ids: Record<string, string>): Record<string, unknown> {
  const names = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]))
  const values = (v: unknown) => {
    if (v === null) return null
    const { id, tenant_id, created_at, updated_at, deleted_at, ...rest } = v as Record<string, unknown>
    return { ...rest, id: names[id as string], tenant: typeof tenant_id, stamped: [typeof created_at, typeof updated_at], deleted: deleted_at !== null }
  }
  return {
    action: row.action,
    resource: names[row.resource_id as string],
    old: values(row.old_values),
    new: values(row.new_values),
    changed: row.changed_fields,
    actor: row.actor_user_id,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    outcome: row.outcome,
    metadata: row.metadata,
    budgetText: row.budget_text,
  }
}

describe.skipIf(skip !== null)('audited writes on a Citus cluster (coordinator and two workers)', () => {
  let started: StrictCluster
  let cluster: CitusCluster
  let db: Kysely<any>
  let plainPool: pg.Pool
  let strictPool: pg.Pool
  let strictSent: SentQuery[]
  let strict: Tenantry<HostDB>
  /** The same cluster through the one-statement audit CTE (as before the switch): the reference for the audit rows. */
  let oneStatement: Tenantry<HostDB>
  const sunk: AuditEvent[] = []
  let tenantA: string
  let tenantB: string
  let actor: string
  const idsA: Record<string, string> = {}
  const idsB: Record<string, string> = {}
  /** Per write operation: the statements it sent on the strict pool. */
  const sentByOp: Record<string, SentQuery[]> = {}

  beforeAll(async () => {
    started = await startStrictCluster()
    ;({ cluster, db, plainPool, strictPool, sent: strictSent } = started)
    const admin = createTenantry<HostDB>({ pool: plainPool, tables })
    const { error } = await admin.migrate()
    if (error) throw error
    await sql`
      create table public.projects (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        name text not null,
        status text not null default 'active',
        secret text,
        budget numeric,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id)
      );
      select tenantry.install_updated_at_trigger('public.projects');`.execute(db)
    const system = admin.asSystem({ reason: 'citus audited writes' })
    tenantA = (await system.tenants.create({ slug: 'acme', name: 'Acme' })).id
    tenantB = (await system.tenants.create({ slug: 'globex', name: 'Globex' })).id
    actor = (await sql<{ id: string }>`insert into tenantry.users (email) values ('ada@example.com') returning id`.execute(db)).rows[0]!.id
    await admin.citus.distribute()
    strict = createTenantry<HostDB>({ pool: strictPool, tables, audit: { sink: (events) => void sunk.push(...events) } })
    oneStatement = createTenantry<HostDB>({ pool: plainPool, tables, audit: { sink: () => {} } })
    await oneStatement.ready()
    oneStatement.runtime.distributedAudit = false
  }, 240_000)

  afterAll(() => started?.close(), 60_000)

  const context = (tenantId: string) => ({ tenantId, actorId: actor, ip: '10.0.0.7', userAgent: 'citus-test', requestId: 'req-1' })

  it('sends the change and its audit row as two statements once audit_logs is distributed, with no multi-shard task', async () => {
    await strict.ready()
    expect(strict.runtime.distributedAudit).toBe(true)
    const repoA = strict.withContext(context(tenantA)).repo('projects')
    const repoB = oneStatement.withContext(context(tenantB)).repo('projects')
    for (const [op, run] of writes) {
      const from = strictSent.length
      await run(repoA, idsA)
      sentByOp[op] = strictSent.slice(from)
      await run(repoB, idsB)
    }
    // begin, the change (an update or delete returns its audit values too), the audit insert, commit
    for (const [op] of writes) {
      const change = op.startsWith('create') ? 'insert' : 'with'
      expect(
        sentByOp[op]!.map((q) => q.text.trim().split(/\s+/)[0]!.toLowerCase()),
        op,
      ).toEqual(['begin', change, 'insert', 'commit'])
    }
    const { rows } = await sql<{ name: string; status: string; deleted: boolean }>`
      select name, status, deleted_at is not null as deleted from public.projects where tenant_id = ${tenantA} order by name`.execute(db)
    expect(rows).toEqual([
      { name: 'Artemis', status: 'paused', deleted: false },
      { name: 'Gemini', status: 'paused', deleted: false },
    ])
  })

  it('writes the same audit rows as the one-statement path (old and new values, changed fields, redaction, context)', async () => {
    const audit = async (tenantId: string) =>
      (
        await sql<Record<string, unknown>>`
          select *, coalesce(new_values, old_values)->>'budget' as budget_text from tenantry.audit_logs
           where tenant_id = ${tenantId} and resource_type = 'projects' order by created_at, action, resource_id`.execute(db)
      ).rows
    const [a, b] = [await audit(tenantA), await audit(tenantB)]
    // 3 creates, 1 + 3 updates, 1 + 1 soft deletes, 1 restore, 1 purge
    expect(a).toHaveLength(11)
    const sorted = (rows: Record<string, unknown>[], ids: Record<string, string>) =>
      rows.map((r) => comparable(r, ids)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))
    expect(sorted(a, idsA)).toEqual(sorted(b, idsB))
    const update = a.find((r) => r.action === 'projects.update')!
    expect(update.changed_fields).toEqual(['name', 'secret'])
    expect(update.old_values).not.toHaveProperty('secret')
    expect(update.new_values).toMatchObject({ name: 'Artemis' })
    // numbers keep every digit through the statement pair
    expect(a.find((r) => r.action === 'projects.create' && r.resource_id === idsA.apollo)!.budget_text).toBe('12345678901234567890.123456789')
    // and the sink got each row once, as written
    const written = new Set(a.map((r) => r.id))
    expect(
      sunk
        .filter((e) => e.resourceType === 'projects')
        .map((e) => e.id)
        .sort(),
    ).toEqual([...written].sort())
  })

  it('plans every statement of every write as one task on one node (EXPLAIN)', async () => {
    for (const [op] of writes) {
      for (const statement of sentByOp[op]!.filter((q) => /^\s*(with|insert)\b/i.test(q.text))) {
        const plan = await explainPlan(plainPool, statement)
        expect(plan, `${op}: ${statement.text}`).toMatch(/Task Count: 1\b/)
        expect(plan, op).not.toMatch(/Task Count: (?!1\b)\d+|Distributed Subplan/)
        // A create's audit insert reads the new rows back on their shard (one task); Citus copies
        // them through the coordinator into the audit shard, the same node (see the next test).
        if (!/^\s*insert into \S+audit_logs\S* \(.*\)\s+select\b/is.test(statement.text)) expect(plan, op).not.toMatch(/pull to coordinator/)
      }
    }
  })

  it("stores the audit rows on the tenant's shard, on the worker that holds its projects", async () => {
    const placement = async (table: string) =>
      (
        await sql<{ shardid: string; nodeport: number; shard_name: string }>`
          select s.shardid::text, s.nodeport, s.shard_name from citus_shards s
           where s.shardid = get_shard_id_for_distribution_column(${table}::regclass, ${tenantA}::uuid)`.execute(db)
      ).rows[0]!
    const audit = await placement('tenantry.audit_logs')
    const projects = await placement('public.projects')
    expect(audit.nodeport).toBe(projects.nodeport)
    const worker = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${audit.nodeport}/postgres` })
    await worker.connect()
    try {
      const { rows } = await worker.query<{ n: number }>(
        `select count(*)::int as n from ${audit.shard_name.replace(/^(\w+)\.(\w+)$/, '"$1"."$2"')} where tenant_id = $1 and resource_type = 'projects'`,
        [tenantA],
      )
      expect(rows[0]!.n).toBe(11)
    } finally {
      await worker.end()
    }
  })

  it('costs two statements per write inside scope.transaction, and none for the audit when nothing changed', async () => {
    const scope = strict.withContext(context(tenantA))
    const from = strictSent.length
    await scope.transaction(async (tx) => {
      const repo = tx.repo('projects')
      const row = await repo.create({ name: 'In a transaction' })
      await repo.update(row.id, { name: 'Still in it' })
    })
    expect(strictSent.slice(from).map((q) => q.text.trim().split(/\s+/)[0]!.toLowerCase())).toEqual(['begin', 'insert', 'insert', 'with', 'insert', 'commit'])
    const none = strictSent.length
    expect(await scope.repo('projects').updateMany({ name: 'nothing by this name' }, { status: 'x' })).toEqual({ count: 0 })
    expect(strictSent.slice(none).map((q) => q.text.trim().split(/\s+/)[0]!.toLowerCase())).toEqual(['begin', 'with', 'commit'])
  })

  it("leaves another tenant's rows and audit trail alone", async () => {
    const repo = strict.withContext(context(tenantA)).repo('projects')
    const before = (await sql`select * from public.projects where tenant_id = ${tenantB} order by id`.execute(db)).rows
    const auditBefore = (await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantB}`.execute(db)).rows[0]!.n
    const refused = await repo.update(idsB.apollo!, { name: 'hijacked' }).catch((e: unknown) => e)
    expect(isTenantryError(refused) && refused.code).toBe('NOT_FOUND')
    expect(await repo.updateMany('all', { status: 'mine' })).toEqual({ count: 3 })
    expect(await repo.purge(idsB.gemini!).catch((e: unknown) => isTenantryError(e) && e.code)).toBe('NOT_FOUND')
    expect((await sql`select * from public.projects where tenant_id = ${tenantB} order by id`.execute(db)).rows).toEqual(before)
    const auditAfter = (await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantB}`.execute(db)).rows[0]!.n
    expect(auditAfter).toBe(auditBefore)
    // the refused attempts are audited as denied, on tenant A
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantA} and outcome = 'denied'`.execute(
      db,
    )
    expect(rows[0]!.n).toBe(2)
  })

  describe('the repository conformance cases on the cluster (strict connections: one shard or an error)', () => {
    let tenantC: string
    beforeAll(async () => {
      tenantC = (await oneStatement.asSystem({ reason: 'citus conformance' }).tenants.create({ slug: 'initech', name: 'Initech' })).id
    })
    // the same cases as on one node (test/repository/conformance.test.ts)
    repositoryConformance(() => ({ repo: () => strict.withContext(context(tenantC)).repo('projects'), db }))
  })

  it('audits writes to the bundled tables of a tenant scope on the tenant shard: memberships (single-shard), users (not)', async () => {
    const scope = strict.withContext(context(tenantA))
    await sql`insert into tenantry.memberships (tenant_id, user_id) values (${tenantA}, ${actor})`.execute(db)
    expect(await scope.memberships.updateMany('all', { status: 'suspended' })).toEqual({ count: 1 })
    const seen = new Date('2026-01-02T03:04:05.678Z')
    // users is a reference table seen through the tenant's memberships (distributed): its write keeps
    // the one-statement CTE, which Citus plans with an intermediate result (not single-shard)
    const refused = await scope.users.update(actor, { last_login_at: seen }).catch((e: unknown) => e)
    expect(isTenantryError(refused) && refused.code).toBe('DATABASE')
    await createTenantry<HostDB>({ pool: plainPool, tables }).withContext(context(tenantA)).users.update(actor, { last_login_at: seen })
    const { rows } = await sql<{ action: string; tenant_id: string; changed_fields: string[] }>`
      select action, tenant_id, changed_fields from tenantry.audit_logs where action in ('memberships.update', 'users.update') and outcome = 'success' order by action`.execute(
      db,
    )
    expect(rows).toEqual([
      { action: 'memberships.update', tenant_id: tenantA, changed_fields: ['status'] },
      { action: 'users.update', tenant_id: tenantA, changed_fields: ['last_login_at'] },
    ])
  })

  describe('what Citus cannot store or run, refused clearly', () => {
    it('refuses a write whose audit event has no tenant (a global user), writes nothing, and hands the failure to the sink', async () => {
      const from = sunk.length
      const error = await strict
        .asSystem({ reason: 'citus global user' })
        .users.create({ email: 'global@example.com' })
        .catch((e: unknown) => e)
      expect(isTenantryError(error) && error.code).toBe('CONFIGURATION')
      expect((error as Error).message).toBe(
        'users.create: audit_logs is distributed by tenant_id (Citus), so an audit event without a tenant cannot be stored; run it in a tenant scope (see docs/scale-out.md)',
      )
      expect((await sql<{ n: number }>`select count(*)::int as n from tenantry.users where email = 'global@example.com'`.execute(db)).rows[0]!.n).toBe(0)
      expect(sunk.slice(from)).toEqual([
        expect.objectContaining({
          action: 'users.create',
          outcome: 'failure',
          errorCode: 'CONFIGURATION',
          tenantId: null,
          metadata: expect.objectContaining({ system: true }),
        }),
      ])
    })

    it('refuses auditLog.record without a tenant, and stores it on the tenant shard in a tenant scope', async () => {
      const error = await strict
        .asSystem({ reason: 'citus custom event' })
        .auditLog.record({ action: 'maintenance.start' })
        .catch((e: unknown) => e)
      expect(isTenantryError(error) && error.code).toBe('CONFIGURATION')
      const event = await strict.withContext(context(tenantA)).auditLog.record({ action: 'auth.login' })
      expect(event).toMatchObject({ tenantId: tenantA, action: 'auth.login' })
      const { rows } = await sql<{ action: string }>`select action from tenantry.audit_logs where action in ('maintenance.start', 'auth.login')`.execute(db)
      expect(rows).toEqual([{ action: 'auth.login' }])
    })

    it("prunes old audit rows: a tenant's own on its shard, and every tenant's from a system scope", async () => {
      await sql`insert into tenantry.audit_logs (tenant_id, action, created_at)
                select t, 'old.event', now() - interval '400 days' from unnest(array[${tenantA}, ${tenantA}, ${tenantA}, ${tenantB}]::uuid[]) as t`.execute(db)
      const count = async (tenantId: string) =>
        (await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantId} and action = 'old.event'`.execute(db))
          .rows[0]!.n
      const recentA = (await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantA}`.execute(db)).rows[0]!.n - 3
      expect(await strict.withContext(context(tenantA)).auditLog.prune({ olderThan: '365d', batchSize: 2 })).toBe(3)
      expect([await count(tenantA), await count(tenantB)]).toEqual([0, 1])
      expect((await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs where tenant_id = ${tenantA}`.execute(db)).rows[0]!.n).toBe(recentA)
      // across every shard: not single-shard by nature, so on ordinary connections
      const plain = createTenantry<HostDB>({ pool: plainPool, tables })
      expect(await plain.asSystem({ reason: 'retention' }).auditLog.prune({ olderThan: '365d' })).toBe(1)
      expect(await count(tenantB)).toBe(0)
      // the append-only guard still holds outside retention, on the workers
      const refused = await sql`delete from tenantry.audit_logs where tenant_id = ${tenantA}`.execute(db).catch((e: Error) => e)
      expect((refused as Error).message).toContain('audit_logs is append-only (DELETE refused)')
    })

    it("refuses isolation: 'rls' on distributed tables with a CONFIGURATION error that says why", async () => {
      const rls = createTenantry<HostDB>({ pool: plainPool, tables, isolation: 'rls' })
      const error = await rls.ready().catch((e: unknown) => e)
      expect(isTenantryError(error) && error.code).toBe('CONFIGURATION')
      expect((error as Error).message).toMatch(
        /^isolation 'rls' is not supported on Citus: .*tenantry\.audit_logs.* are distributed tables, and tenantry's row-level security policies use subqueries, which Citus refuses in policies of distributed tables; pass isolation: 'query' to createTenantry$/,
      )
      const write = await rls
        .withContext({ tenantId: tenantA })
        .repo('projects')
        .create({ name: 'never' })
        .catch((e: unknown) => e)
      expect(isTenantryError(write) && write.code).toBe('CONFIGURATION')
      expect((await sql<{ n: number }>`select count(*)::int as n from public.projects where name = 'never'`.execute(db)).rows[0]!.n).toBe(0)
    })
  })

  it("keeps a tenant's reads and writes working while its shards move to the other worker, and after (citus_move_shard_placement)", async () => {
    const placement = async (table: string) =>
      (
        await sql<{ shardid: string; nodeport: number }>`
          select s.shardid::text, s.nodeport from citus_shards s
           where s.shardid = get_shard_id_for_distribution_column(${table}::regclass, ${tenantA}::uuid)`.execute(db)
      ).rows[0]!
    const source = await placement('tenantry.audit_logs')
    const target = cluster.workers.find((w) => w.port !== source.nodeport)!
    const repo = strict.withContext(context(tenantA)).repo('projects')
    let moving = true
    // block_writes: the cluster runs with wal_level replica; writes wait for the move instead of failing
    const move = sql`select citus_move_shard_placement(${source.shardid}::bigint, '127.0.0.1', ${source.nodeport}, '127.0.0.1', ${target.port},
                      shard_transfer_mode => 'block_writes')`
      .execute(db)
      .finally(() => {
        moving = false
      })
    const during: string[] = []
    do {
      const row = await repo.create({ name: `during move ${during.length}` })
      expect((await repo.findById(row.id))?.name).toBe(row.name)
      during.push(row.id)
    } while (moving)
    await move
    const after = await repo.create({ name: 'after move' })
    await repo.update(after.id, { name: 'after move, updated' })
    expect((await repo.findById(after.id))?.name).toBe('after move, updated')
    // the tenant's co-located shards moved together
    expect((await placement('tenantry.audit_logs')).nodeport).toBe(target.port)
    expect((await placement('public.projects')).nodeport).toBe(target.port)
    const ids = [...during, after.id]
    const { rows } = await sql<{ rows: number; audit: number }>`
      select (select count(*)::int from public.projects where tenant_id = ${tenantA} and id = any(${ids}::uuid[])) as rows,
             (select count(*)::int from tenantry.audit_logs where tenant_id = ${tenantA} and resource_id = any(${ids}::text[])) as audit`.execute(db)
    expect(rows[0]).toEqual({ rows: ids.length, audit: ids.length + 1 })
  })
})
