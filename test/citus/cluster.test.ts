import { Kysely, PostgresDialect, sql, type Generated } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCitusCommand } from '../../src/cli/commands/citus.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { runCli } from '../../src/cli/run-cli.js'
import { createTenantry, defineTable, isTenantryError, type Tenantry } from '../../src/index.js'
import { citusSkipReason, startCitusCluster, type CitusCluster } from '../support/citus-cluster.js'
import { STRICT, type SentQuery, recordingPool } from '../support/citus-strict-pool.js'

const skip = citusSkipReason('test/citus/cluster.test.ts')

interface HostDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<string>
    created_at: Generated<Date>
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  tasks: {
    id: Generated<string>
    tenant_id: string
    project_id: string
    title: string
  }
}

const tables = {
  projects: defineTable<HostDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }),
  tasks: defineTable<HostDB, 'tasks'>({ table: 'tasks' }),
}

describe.skipIf(skip !== null)('on a Citus coordinator with two workers', () => {
  let cluster: CitusCluster
  let pool: pg.Pool
  let strictPool: pg.Pool
  let strictSent: SentQuery[]
  let plainSent: SentQuery[]
  let db: Kysely<any>
  let tenantry: Tenantry<HostDB>
  let strict: Tenantry<HostDB>
  /** Per operation: `single-shard`, or why Citus needed more than one shard. */
  const routing: Record<string, string> = {}
  /** Per operation: round trips, and the statements sent (for EXPLAIN). */
  const roundTrips: Record<string, number> = {}
  const statements: Record<string, SentQuery[]> = {}

  async function cli(argv: string[], command = runCitusCommand) {
    const out: string[] = []
    const err: string[] = []
    const code = await command(argv, { env: { DATABASE_URL: cluster.url }, stdout: (l) => out.push(l), stderr: (l) => err.push(l) })
    return { code, out: out.join('\n'), err: err.join('\n') }
  }

  beforeAll(async () => {
    cluster = await startCitusCluster()
    ;({ pool, sent: plainSent } = recordingPool(cluster.url))
    ;({ pool: strictPool, sent: strictSent } = recordingPool(cluster.url, STRICT))
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: cluster.url, max: 2 }) }) })
    tenantry = createTenantry<HostDB>({ pool, tables })
    strict = createTenantry<HostDB>({ pool: strictPool, tables })
    const { error } = await tenantry.migrate()
    if (error) throw error
    // A host table as single-node users write it (primary key on id alone), and one that is ready.
    await sql`
      create table public.projects (
        id uuid primary key default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        name text not null,
        status text not null default 'active',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz
      );
      create index projects_tenant_idx on public.projects (tenant_id, created_at);
      select tenantry.install_updated_at_trigger('public.projects');
      create table public.tasks (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        project_id uuid not null,
        title text not null,
        primary key (tenant_id, id)
      );
      -- an application already on Citus: its tenant tables have a co-location group (of 4 shards)
      create table public.accounts (id uuid not null default gen_random_uuid(), tenant_id uuid not null, primary key (tenant_id, id));
      select create_distributed_table('public.accounts', 'tenant_id', shard_count => 4);`.execute(db)
  }, 240_000)

  afterAll(async () => {
    if (Object.keys(routing).length > 0) {
      const lines = Object.entries(routing).map(([op, how]) => `  ${op}: ${how}, ${roundTrips[op]} round trip${roundTrips[op] === 1 ? '' : 's'}`)
      console.log(`citus routing:\n${lines.join('\n')}`)
    }
    await pool?.end()
    await strictPool?.end()
    await db?.destroy()
    await cluster?.stop()
  }, 60_000)

  it('reports every table local before distribute', async () => {
    const status = await tenantry.citus.status()
    expect(status).toMatchObject({ installed: true, version: expect.stringMatching(/^13\./), workers: 2, distributed: false })
    expect(status.tables.map((t) => [t.table, t.distribution])).toEqual([
      ['tenantry.tenants', 'local'],
      ['tenantry.users', 'local'],
      ['tenantry.roles', 'local'],
      ['tenantry.audit_logs', 'local'],
      ['tenantry.memberships', 'local'],
      ['tenantry.user_roles', 'local'],
      ['tenantry.invitations', 'local'],
      ['tenantry.sessions', 'local'],
      ['tenantry.refresh_tokens', 'local'],
      ['public.projects', 'local'],
      ['public.tasks', 'local'],
    ])
    const { code, out } = await cli(['status', '--table', 'public.projects'])
    expect(code).toBe(EXIT.notDistributed)
    expect(out).toContain('citus 13.')
    expect(out).toContain('not distributed (run tenantry citus distribute)')
  })

  it('refuses a host table whose primary key lacks the tenant column, naming the key', async () => {
    const error = await tenantry.citus.distribute().catch((e: unknown) => e)
    expect(isTenantryError(error) && error.code).toBe('CONFIGURATION')
    expect((error as Error).message).toBe(
      'citus distribute: public.projects cannot be distributed by tenant_id: primary key projects_pkey (id) must hold tenant_id (tenantry lint --citus prints the fix)',
    )
    // refused before any change
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_dist_partition where logicalrelid::text like 'tenantry.%'`.execute(db)
    expect(rows[0]!.n).toBe(0)
    await sql`alter table public.projects drop constraint projects_pkey, add primary key (tenant_id, id)`.execute(db)
  })

  it('distributes the tenant tables by tenant_id, co-located, and makes tenants, users and roles reference tables', async () => {
    const { changed, status } = await tenantry.citus.distribute({ colocateWith: 'public.accounts' })
    expect(changed).toEqual(
      expect.arrayContaining([
        'tenantry.tenants: reference table',
        'tenantry.audit_logs: audit_logs_pkey now leads with tenant_id',
        'tenantry.invitations: invitations_selector_key now leads with tenant_id',
        'tenantry.audit_logs: distributed by tenant_id, co-located with public.accounts',
        'public.projects: distributed by tenant_id, co-located with tenantry.audit_logs',
      ]),
    )
    expect(status.distributed).toBe(true)
    const byTable = Object.fromEntries(status.tables.map((t) => [t.table, t]))
    for (const table of ['tenantry.tenants', 'tenantry.users', 'tenantry.roles']) {
      expect(byTable[table]).toMatchObject({ distribution: 'reference', shards: 1, ready: true })
    }
    const { rows: anchor } = await sql<{
      group: number
    }>`select colocationid as group from pg_dist_partition where logicalrelid = 'public.accounts'::regclass`.execute(db)
    for (const table of ['tenantry.audit_logs', 'tenantry.memberships', 'tenantry.user_roles', 'tenantry.invitations', 'public.projects', 'public.tasks']) {
      expect(byTable[table]).toMatchObject({ distribution: 'distributed', column: 'tenant_id', colocationId: anchor[0]!.group, shards: 4, ready: true })
    }
    for (const table of ['tenantry.sessions', 'tenantry.refresh_tokens']) expect(byTable[table]).toMatchObject({ distribution: 'local', ready: true })
    // the catalog agrees: shards spread over both workers
    const { rows } = await sql<{ nodes: number }>`
      select count(distinct p.nodeport)::int as nodes from pg_dist_shard s join pg_dist_shard_placement p using (shardid)
       where s.logicalrelid = 'tenantry.memberships'::regclass`.execute(db)
    expect(rows[0]!.nodes).toBe(2)
  })

  it('is idempotent: a second distribute changes nothing and says so', async () => {
    expect((await tenantry.citus.distribute()).changed).toEqual([])
    const again = await cli(['distribute', '--table', 'public.projects', '--table', 'public.tasks'])
    expect(again.code).toBe(EXIT.ok)
    expect(again.out).toContain('nothing to do: every table is already in place')
    const status = await cli(['citus', 'status', '--table', 'public.projects', '--table', 'public.tasks'], runCli)
    expect(status.code).toBe(EXIT.ok)
    expect(status.out).toMatch(/public\.projects\s+distributed\s+tenant_id\s+\d+\s+4$/m)
    expect(status.out).toMatch(/tenantry\.users\s+reference/)
  })

  it('explains CLI usage errors with exit code 2', async () => {
    expect(await cli(['shard'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('unknown citus action "shard"') })
    expect(await cli(['status', '--colocate-with', 'public.x'])).toMatchObject({ code: EXIT.usage })
    expect(await cli(['distribute', '--table'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--table needs a value') })
  })

  it('keeps the updated_at and append-only triggers working on the shards', async () => {
    const tenant = await tenantry.asSystem({ reason: 'citus test' }).tenants.create({ slug: 'trigger-check', name: 'Trigger check' })
    const scope = tenantry.withContext({ tenantId: tenant.id })
    const project = await scope.repo('projects').create({ name: 'stamped' })
    await sql`select pg_sleep(0.01)`.execute(db)
    await scope.repo('projects').update(project.id, { name: 'stamped again' })
    const { rows } = await sql<{ stamped: boolean }>`select updated_at > created_at as stamped from public.projects where id = ${project.id}`.execute(db)
    expect(rows[0]!.stamped).toBe(true)
    const refused = await sql`update tenantry.audit_logs set action = 'x.y' where tenant_id = ${tenant.id}`.execute(db).catch((e: Error) => e)
    expect((refused as Error).message).toContain('audit_logs is append-only (UPDATE refused)')
  })

  describe('repository operations through the public API', () => {
    let tenantId: string
    let otherId: string
    let userId: string

    /** Runs `op` on connections that refuse multi-shard work; when Citus refuses, records why and runs it normally. */
    async function measured<T>(name: string, op: (t: Tenantry<HostDB>) => Promise<T>): Promise<T> {
      const from = strictSent.length
      try {
        const result = await op(strict)
        routing[name] = 'single-shard'
        statements[name] = strictSent.slice(from)
        roundTrips[name] = statements[name].length
        return result
      } catch (error) {
        // tenantry's messages name no values, so this is the operation and its SQLSTATE
        routing[name] = `not single-shard (${(error as Error).message})`
        const plainFrom = plainSent.length
        const result = await op(tenantry)
        statements[name] = plainSent.slice(plainFrom)
        roundTrips[name] = statements[name].length
        return result
      }
    }

    async function auditCount(action: string, resourceId?: string): Promise<number> {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs
        where tenant_id = ${tenantId} and action = ${action} and outcome = 'success' and (${resourceId ?? null}::text is null or resource_id = ${resourceId ?? null})`.execute(
        db,
      )
      return rows[0]!.n
    }

    beforeAll(async () => {
      const system = tenantry.asSystem({ reason: 'citus conformance' })
      tenantId = (await system.tenants.create({ slug: 'acme', name: 'Acme' })).id
      otherId = (await system.tenants.create({ slug: 'globex', name: 'Globex' })).id
      await tenantry.withContext({ tenantId: otherId }).repo('projects').create({ name: 'globex project' })
      // users is global: its audit row has no tenant (see docs/scale-out.md), so it is inserted here directly
      const { rows } = await sql<{ id: string }>`insert into tenantry.users (email) values ('ada@example.com') returning id`.execute(db)
      userId = rows[0]!.id
      await sql`insert into tenantry.memberships (tenant_id, user_id) values (${tenantId}, ${userId})`.execute(db)
    })

    it('create, read, page, count, update, soft delete, restore and purge leave the right rows and audit rows', async () => {
      const scoped = (t: Tenantry<HostDB>) => t.withContext({ tenantId, actorId: userId }).repo('projects')
      const apollo = await measured('create', (t) => scoped(t).create({ name: 'Apollo' }))
      const [gemini] = await measured('createMany', (t) => scoped(t).createMany([{ name: 'Gemini' }]))
      const { rows: stored } = await sql<{
        tenant_id: string
        name: string
      }>`select tenant_id, name from public.projects where id in (${apollo.id}, ${gemini!.id}) order by name`.execute(db)
      expect(stored).toEqual([
        { tenant_id: tenantId, name: 'Apollo' },
        { tenant_id: tenantId, name: 'Gemini' },
      ])
      expect(await auditCount('projects.create')).toBe(2)

      expect((await measured('findById', (t) => scoped(t).findById(apollo.id)))?.name).toBe('Apollo')
      expect((await measured('findMany', (t) => scoped(t).findMany({ orderBy: ['name', 'asc'] }))).map((p) => p.name)).toEqual(['Apollo', 'Gemini'])
      const first = await measured('page', (t) => scoped(t).page({ limit: 1 }))
      expect(first.items).toHaveLength(1)
      expect(first.nextCursor).toBeTruthy()
      expect(await measured('count', (t) => scoped(t).count())).toBe(2)

      await measured('update', (t) => scoped(t).update(apollo.id, { name: 'Artemis' }))
      expect((await sql<{ name: string }>`select name from public.projects where id = ${apollo.id}`.execute(db)).rows[0]!.name).toBe('Artemis')
      expect(await auditCount('projects.update', apollo.id)).toBe(1)

      expect(await measured('updateMany', (t) => scoped(t).updateMany({ status: 'active' }, { status: 'paused' }))).toEqual({ count: 2 })
      const { rows: paused } = await sql<{
        n: number
      }>`select count(*)::int as n from public.projects where tenant_id = ${tenantId} and status = 'paused'`.execute(db)
      expect(paused[0]!.n).toBe(2)
      // the other tenant's row is untouched
      expect((await sql<{ status: string }>`select status from public.projects where tenant_id = ${otherId}`.execute(db)).rows[0]!.status).toBe('active')

      await measured('softDelete', (t) => scoped(t).softDelete(gemini!.id))
      expect(
        (await sql<{ deleted: boolean }>`select deleted_at is not null as deleted from public.projects where id = ${gemini!.id}`.execute(db)).rows[0]!.deleted,
      ).toBe(true)
      await measured('restore', (t) => scoped(t).restore(gemini!.id))
      expect(
        (await sql<{ deleted: boolean }>`select deleted_at is not null as deleted from public.projects where id = ${gemini!.id}`.execute(db)).rows[0]!.deleted,
      ).toBe(false)
      await measured('purge', (t) => scoped(t).purge(gemini!.id))
      expect((await sql<{ n: number }>`select count(*)::int as n from public.projects where id = ${gemini!.id}`.execute(db)).rows[0]!.n).toBe(0)
      for (const action of ['projects.softDelete', 'projects.restore', 'projects.purge']) expect(await auditCount(action, gemini!.id), action).toBe(1)
    })

    it('joins co-located tables through scope.db on the tenant', async () => {
      const project = await tenantry.withContext({ tenantId }).repo('projects').create({ name: 'Joined' })
      await tenantry.withContext({ tenantId }).repo('tasks').create({ project_id: project.id, title: 'first task' })
      const rows = await measured('scope.db join', (t) =>
        t
          .withContext({ tenantId })
          .db.selectFrom('tasks')
          .innerJoin('projects', (join) => join.onRef('projects.id', '=', 'tasks.project_id').onRef('projects.tenant_id', '=', 'tasks.tenant_id'))
          .select(['tasks.title', 'projects.name'])
          .execute(),
      )
      expect(rows).toEqual([{ title: 'first task', name: 'Joined' }])
    })

    it('issues and rotates a refresh token, with audit rows on the tenant', async () => {
      const issued = await measured('tokens.issue', (t) => t.tokens.issue({ userId, tenantId }))
      const rotated = await measured('tokens.rotate', (t) => t.tokens.rotate(issued.token))
      expect(rotated.sessionId).toBe(issued.sessionId)
      const { rows } = await sql<{ generation: number }>`select generation from tenantry.sessions where id = ${issued.sessionId}`.execute(db)
      expect(rows[0]!.generation).toBe(1)
      expect(await auditCount('tokens.issue')).toBe(1)
      expect(await auditCount('tokens.rotate')).toBe(1)
    })

    it('answers scope.can from a tenant role (roles is a reference table)', async () => {
      const scope = tenantry.withContext({ tenantId, actorId: userId })
      const editor = await scope.roles.create({ name: 'editor', permissions: ['projects:write'] })
      await scope.roles.assign(userId, editor.id)
      const { rows } = await sql<{
        n: number
      }>`select count(*)::int as n from tenantry.user_roles where tenant_id = ${tenantId} and user_id = ${userId}`.execute(db)
      expect(rows[0]!.n).toBe(1)
      expect(await measured('scope.can', (t) => t.withContext({ tenantId, actorId: userId }).can('projects:write'))).toBe(true)
      expect(await measured('scope.can (denied)', (t) => t.withContext({ tenantId, actorId: userId }).can('billing:write'))).toBe(false)
    })

    it('plans each read as one task on one node (EXPLAIN)', async () => {
      for (const op of ['findById', 'findMany', 'page', 'count', 'scope.db join', 'scope.can']) {
        const reads = statements[op]!.filter((q) => /^\s*(with|select)\b/i.test(q.text))
        expect(reads.length, op).toBeGreaterThan(0)
        for (const read of reads) {
          const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (costs off) ${read.text}`, read.values)
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
          expect(plan, `${op}: ${read.text}`).toMatch(/Task Count: 1\b/)
          expect(plan, op).not.toMatch(/Task Count: (?!1\b)\d+/)
        }
      }
    })

    it('reads across tenants in a system scope, over every shard', async () => {
      const all = await measured('asSystem findMany', (t) => t.asSystem({ reason: 'citus report' }).repo('projects').findMany({ limit: 1000 }))
      expect([...new Set(all.map((p) => p.tenant_id))]).toEqual(expect.arrayContaining([tenantId, otherId]))
      expect(routing['asSystem findMany']).toMatch(/^not single-shard/)
    })

    it('refuses audit events without a tenant once audit_logs is distributed (docs/scale-out.md)', async () => {
      const created = await tenantry
        .asSystem({ reason: 'citus limitation' })
        .users.create({ email: 'global@example.com' })
        .catch((e: unknown) => e)
      expect(isTenantryError(created)).toBe(true)
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.users where email = 'global@example.com'`.execute(db)
      expect(rows[0]!.n).toBe(0)
      const issued = await tenantry.tokens.issue({ userId }).catch((e: unknown) => e)
      expect(isTenantryError(issued)).toBe(true)
      const sessions = await sql<{ n: number }>`select count(*)::int as n from tenantry.sessions where user_id = ${userId} and tenant_id is null`.execute(db)
      expect(sessions.rows[0]!.n).toBe(0)
      // refused by tenantry before the audit insert, rolled back with the change
      expect((created as Error).message).toBe(
        'users.create: audit_logs is distributed by tenant_id (Citus), so an audit event without a tenant cannot be stored; run it in a tenant scope (see docs/scale-out.md)',
      )
      expect((issued as Error).message).toBe(
        'tokens.issue: audit_logs is distributed by tenant_id (Citus), so an audit event without a tenant cannot be stored; run it in a tenant scope (see docs/scale-out.md)',
      )
    })

    it('records which operations stay on one shard', () => {
      // Reads, scope.db joins and the audited writes (two statements in one transaction, see
      // test/citus/audited-writes.test.ts) are routed to the tenant's shard (docs/scale-out.md).
      const single = ['findById', 'findMany', 'page', 'count', 'scope.db join', 'tokens.issue', 'tokens.rotate', 'scope.can', 'scope.can (denied)']
      const writes = ['create', 'createMany', 'update', 'updateMany', 'softDelete', 'restore', 'purge']
      for (const op of [...single, ...writes]) expect(routing[op], op).toBe('single-shard')
      // begin, the change, the audit insert, commit; the first call also reads the schema (columns, then Citus placement)
      for (const op of writes) expect(roundTrips[op], op).toBe(op === 'create' ? 6 : 4)
    })
  })
})
