import { type Kysely, sql, type Generated } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, TenantryError, type Tenantry } from '../../src/index.js'
import { citusSkipReason, type CitusCluster } from '../support/citus-cluster.js'
import { type SentQuery, type StrictCluster, explainPlan, startStrictCluster } from '../support/citus-strict-pool.js'

/**
 * Declared references, soft-delete cascade and restrict, hooks' `args.before` and declared
 * permissions on a Citus cluster (coordinator and two workers), over connections on which any
 * multi-shard task or intermediate result is an error: the same behaviour as on one node, each
 * statement one task on the tenant's node.
 */

const skip = citusSkipReason('test/citus/relational-integrity.test.ts')

interface HostDB {
  projects: { id: Generated<string>; tenant_id: string; name: string; updated_at: Generated<Date>; deleted_at: Date | null }
  deployments: {
    id: Generated<string>
    tenant_id: string
    project_id: string | null
    name: string
    updated_at: Generated<Date>
    deleted_at: Date | null
  }
  secrets: { id: Generated<string>; tenant_id: string; label: string }
  notes: { id: Generated<string>; tenant_id: string; project_id: string | null; body: string }
  tickets: { id: Generated<string>; tenant_id: string; title: string; touched_by: Generated<string | null>; touched_request: Generated<string | null> }
}

/** Calls of the deployments' after hooks: the rows and `args.before`. */
const hookCalls: { hook: string; rows: Record<string, unknown>[]; before: Record<string, unknown>[] }[] = []

const tables = {
  projects: defineTable<HostDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }),
  deployments: defineTable<HostDB, 'deployments'>({
    table: 'deployments',
    softDelete: 'deleted_at',
    references: { project_id: { table: 'projects', onSoftDelete: 'cascade' } },
    hooks: {
      afterUpdate: (rows, { before }) => void hookCalls.push({ hook: 'afterUpdate', rows: rows as never, before: before as never }),
      afterDelete: (rows, { before }) => void hookCalls.push({ hook: 'afterDelete', rows: rows as never, before: before as never }),
    },
  }),
  secrets: defineTable<HostDB, 'secrets'>({ table: 'secrets', permissions: { read: 'secrets:read', write: 'secrets:write' } }),
  notes: defineTable<HostDB, 'notes'>({ table: 'notes', audit: { enabled: false }, references: { project_id: 'projects' } }),
  tickets: defineTable<HostDB, 'tickets'>({ table: 'tickets' }),
}

/** The first word of each statement: `begin`, `with`, `insert`, `select`, `commit`. */
const kinds = (queries: SentQuery[]) => queries.map((q) => q.text.trim().split(/\s+/)[0]!.toLowerCase())

async function refusal(promise: Promise<unknown>): Promise<TenantryError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'the write should have been refused').toBeInstanceOf(TenantryError)
  return error as TenantryError
}

describe.skipIf(skip !== null)('references, cascade, hooks and permissions on a Citus cluster', () => {
  let started: StrictCluster
  let cluster: CitusCluster
  let db: Kysely<any>
  let plainPool: pg.Pool
  let strictPool: pg.Pool
  let sent: SentQuery[]
  let admin: Tenantry<HostDB, typeof tables>
  let app: Tenantry<HostDB, typeof tables>
  let tenantA: string
  let tenantB: string
  let reader: string
  let writer: string
  /** Per operation: the statements it sent on the strict pool. */
  const sentByOp: Record<string, SentQuery[]> = {}

  const scopeA = (actorId?: string) => app.withContext({ tenantId: tenantA, ...(actorId ? { actorId } : {}), requestId: 'req-ri' })
  const scopeB = () => app.withContext({ tenantId: tenantB })

  async function recorded<T>(op: string, run: () => Promise<T>): Promise<T> {
    const from = sent.length
    try {
      return await run()
    } finally {
      sentByOp[op] = sent.slice(from)
    }
  }

  const count = async (query: ReturnType<typeof sql<{ n: number }>>) => (await query.execute(db)).rows[0]!.n

  beforeAll(async () => {
    started = await startStrictCluster()
    ;({ cluster, db, plainPool, strictPool, sent } = started)
    admin = createTenantry<HostDB, typeof tables>({ pool: plainPool, tables })
    const { error } = await admin.migrate()
    if (error) throw error
    // Composite keys (tenant_id, id): Citus needs the distribution column in every key and foreign key.
    await sql`
      create table public.projects (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        name text not null,
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id)
      );
      create table public.deployments (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        project_id uuid,
        name text not null,
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, project_id) references public.projects (tenant_id, id)
      );
      create table public.notes (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        project_id uuid,
        body text not null,
        primary key (tenant_id, id),
        foreign key (tenant_id, project_id) references public.projects (tenant_id, id)
      );
      create table public.tickets (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        title text not null,
        touched_by uuid,
        touched_request text,
        primary key (tenant_id, id)
      );
      create function public.stamp_ticket() returns trigger language plpgsql as $$
      begin
        new.touched_by := nullif(current_setting('tenantry.actor_id', true), '')::uuid;
        new.touched_request := nullif(current_setting('tenantry.request_id', true), '');
        return new;
      end $$;
      create trigger tickets_stamp before insert or update on public.tickets for each row execute function public.stamp_ticket();
      create table public.secrets (
        id uuid not null default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        label text not null,
        primary key (tenant_id, id)
      );
      select tenantry.install_updated_at_trigger('public.projects');
      select tenantry.install_updated_at_trigger('public.deployments');`.execute(db)
    const system = admin.asSystem({ reason: 'citus relational integrity' })
    tenantA = (await system.tenants.create({ slug: 'acme', name: 'Acme' })).id
    tenantB = (await system.tenants.create({ slug: 'globex', name: 'Globex' })).id
    const user = async (email: string) => (await sql<{ id: string }>`insert into tenantry.users (email) values (${email}) returning id`.execute(db)).rows[0]!.id
    reader = await user('reader@example.com')
    writer = await user('writer@example.com')
    await admin.citus.distribute()
    // Grants in tenant A: the reader may read secrets, the writer read and write them.
    for (const [actor, permissions] of [
      [reader, ['secrets:read']],
      [writer, ['secrets:read', 'secrets:write']],
    ] as const) {
      await sql`insert into tenantry.memberships (tenant_id, user_id) values (${tenantA}, ${actor})`.execute(db)
      const role = (
        await sql<{
          id: string
        }>`insert into tenantry.roles (tenant_id, name, permissions) values (${tenantA}, ${`role-${actor}`}, ${permissions as unknown as string[]}::text[]) returning id`.execute(
          db,
        )
      ).rows[0]!.id
      await sql`insert into tenantry.user_roles (tenant_id, user_id, role_id) values (${tenantA}, ${actor}, ${role})`.execute(db)
    }
    app = createTenantry<HostDB, typeof tables>({ pool: strictPool, tables })
    await app.ready()
  }, 240_000)

  afterAll(() => started?.close(), 60_000)

  async function project(tenantId: string, name: string, deleted = false): Promise<string> {
    const { rows } = await sql<{ id: string }>`insert into public.projects (tenant_id, name, deleted_at)
      values (${tenantId}, ${name}, ${deleted ? sql`now()` : null}) returning id`.execute(db)
    return rows[0]!.id
  }

  async function onEveryWorker<T>(query: string, params: unknown[] = []): Promise<T[]> {
    const results: T[] = []
    for (const worker of cluster.workers) {
      const client = new pg.Client({ connectionString: worker.url })
      await client.connect()
      try {
        results.push((await client.query(query, params)).rows[0] as T)
      } finally {
        await client.end()
      }
    }
    return results
  }

  it('has tenantry.reference_guard on every worker, as a distributed function (migration before distribute)', async () => {
    expect(app.runtime.distributedAudit).toBe(true)
    const found = await onEveryWorker<{ found: boolean }>(`select to_regprocedure('tenantry.reference_guard(boolean,text,text,text)') is not null as found`)
    expect(found).toEqual([{ found: true }, { found: true }])
    // marked distributed, so a worker added later gets it too
    expect(
      await count(
        sql<{ n: number }>`select count(*)::int as n from pg_dist_object where objid = 'tenantry.reference_guard(boolean,text,text,text)'::regprocedure`,
      ),
    ).toBe(1)
  })

  it('distributes tenant tables linked by a composite foreign key, and keeps the key (enforced on the shards)', async () => {
    const { rows } = await sql<{ table: string; colocated: number }>`
      select logicalrelid::text as table, count(*) over (partition by colocationid)::int as colocated from pg_dist_partition
       where logicalrelid::text in ('projects', 'deployments', 'notes', 'tenantry.audit_logs') order by 1`.execute(db)
    expect(rows.map((r) => r.table)).toEqual(['deployments', 'notes', 'projects', 'tenantry.audit_logs'])
    expect(new Set(rows.map((r) => r.colocated)).size).toBe(1)
    const keys = await sql<{ name: string }>`select conname as name from pg_constraint where contype = 'f' and conrelid = 'public.deployments'::regclass
      and confrelid = 'public.projects'::regclass`.execute(db)
    expect(keys.rows).toEqual([{ name: 'deployments_tenant_id_project_id_fkey' }])
    const orphan = await sql`insert into public.deployments (tenant_id, project_id, name) values (${tenantA}, gen_random_uuid(), 'orphan')`
      .execute(db)
      .catch((e: { code?: string }) => e)
    expect((orphan as { code?: string }).code).toBe('23503')
  })

  describe('declared references', () => {
    let own: string
    let foreign: string
    let deleted: string
    const missing = '00000000-0000-4000-8000-000000000001'

    beforeAll(async () => {
      own = await project(tenantA, 'own')
      foreign = await project(tenantB, 'foreign')
      deleted = await project(tenantA, 'deleted', true)
    })

    it("creates a deployment of the tenant's own live project, with its audit row on the tenant's shard", async () => {
      const row = await recorded('create', () => scopeA(writer).repo('deployments').create({ name: 'ok', project_id: own }))
      expect(row).toMatchObject({ name: 'ok', project_id: own, tenant_id: tenantA })
      expect(Object.keys(row).some((k) => k.startsWith('__tenantry'))).toBe(false)
      const audit = (await sql<Record<string, unknown>>`select * from tenantry.audit_logs where tenant_id = ${tenantA} and resource_id = ${row.id}`.execute(db))
        .rows
      expect(audit).toEqual([
        expect.objectContaining({
          action: 'deployments.create',
          outcome: 'success',
          actor_user_id: writer,
          new_values: expect.objectContaining({ project_id: own }),
        }),
      ])
      const many = await recorded('createMany', () =>
        scopeA()
          .repo('deployments')
          .createMany([
            { name: 'ok-1', project_id: own },
            { name: 'ok-2', project_id: null },
          ]),
      )
      expect(many.map((r) => r.name)).toEqual(['ok-1', 'ok-2'])
    })

    it("refuses another tenant's, a soft-deleted and a missing project alike on create and createMany (FOREIGN_KEY_VIOLATION), writing nothing", async () => {
      const messages = new Set<string>()
      for (const [i, id] of [foreign, deleted, missing].entries()) {
        const error = await refusal(
          scopeA()
            .repo('deployments')
            .create({ name: `bad-${i}`, project_id: id }),
        )
        expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', table: 'deployments', column: 'project_id', operation: 'deployments.create' })
        expect(error.message).not.toContain(id)
        messages.add(error.message)
        const many = await refusal(
          scopeA()
            .repo('deployments')
            .createMany([
              { name: `bad-many-${i}`, project_id: own },
              { name: `bad-many-${i}`, project_id: id },
            ]),
        )
        expect(many.code).toBe('FOREIGN_KEY_VIOLATION')
        messages.add(many.message.replace('createMany', 'create'))
      }
      expect([...messages]).toEqual(['deployments.create: "project_id" must reference a live row of "projects" in the same tenant'])
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.deployments where name like 'bad-%'`)).toBe(0)
      // each refusal is audited as denied, on the tenant's shard
      expect(
        await count(sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs
          where tenant_id = ${tenantA} and action in ('deployments.create', 'deployments.createMany') and outcome = 'denied' and error_code = 'FOREIGN_KEY_VIOLATION'`),
      ).toBe(6)
    })

    it('refuses update and updateMany to a project out of reach alike, changing nothing, and accepts a live one', async () => {
      const repo = scopeA().repo('deployments')
      const row = await repo.create({ name: 'movable', project_id: own })
      const other = await project(tenantA, 'other')
      for (const id of [foreign, deleted, missing]) {
        const error = await refusal(repo.update(row.id, { project_id: id }))
        expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id', operation: 'deployments.update' })
        expect(error.message).toBe('deployments.update: "project_id" must reference a live row of "projects" in the same tenant')
        expect((await refusal(repo.updateMany({ name: 'movable' }, { project_id: id }))).code).toBe('FOREIGN_KEY_VIOLATION')
      }
      expect((await repo.findById(row.id))?.project_id).toBe(own)
      const moved = await recorded('update', () => repo.update(row.id, { project_id: other }))
      expect(moved.project_id).toBe(other)
      const { rows } = await sql<Record<string, unknown>>`select * from tenantry.audit_logs
        where tenant_id = ${tenantA} and resource_id = ${row.id} and action = 'deployments.update' order by created_at`.execute(db)
      expect(rows.map((r) => [r.outcome, r.error_code])).toEqual([
        ['denied', 'FOREIGN_KEY_VIOLATION'],
        ['denied', 'FOREIGN_KEY_VIOLATION'],
        ['denied', 'FOREIGN_KEY_VIOLATION'],
        ['success', null],
      ])
      expect(rows[3]!.changed_fields).toContain('project_id')
      expect(rows[3]).toMatchObject({ old_values: expect.objectContaining({ project_id: own }), new_values: expect.objectContaining({ project_id: other }) })
    })
  })

  describe('a table without audit', () => {
    it('checks the references of its inserts too, and refuses the same way', async () => {
      const own = await project(tenantA, 'noted')
      const note = await recorded('create unaudited', () => scopeA().repo('notes').create({ body: 'fine', project_id: own }))
      expect(note).toMatchObject({ project_id: own, tenant_id: tenantA })
      for (const id of [await project(tenantB, 'not-yours'), await project(tenantA, 'gone', true), '00000000-0000-4000-8000-000000000003']) {
        const error = await refusal(scopeA().repo('notes').create({ body: 'bad', project_id: id }))
        expect(error.message).toBe('notes.create: "project_id" must reference a live row of "projects" in the same tenant')
      }
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.notes where body = 'bad'`)).toBe(0)
    })
  })

  describe('soft delete: restrict, cascade and restore', () => {
    it("refuses to soft-delete a row a live row still references ('restrict') with CONFLICT, changing nothing", async () => {
      const parent = await project(tenantA, 'restricted')
      const restricted = createTenantry<HostDB>({
        pool: strictPool,
        tables: {
          ...tables,
          deployments: defineTable<HostDB, 'deployments'>({ table: 'deployments', softDelete: 'deleted_at', references: { project_id: 'projects' } }),
        },
      })
      await restricted.withContext({ tenantId: tenantA }).repo('deployments').create({ name: 'keeps-it', project_id: parent })
      const error = await refusal(recorded('softDelete restrict', () => restricted.withContext({ tenantId: tenantA }).repo('projects').softDelete(parent)))
      expect(error).toMatchObject({ code: 'CONFLICT', table: 'deployments', column: 'project_id' })
      expect(error.message).toBe(
        `projects.softDelete: live rows of "deployments" still reference it ("project_id", onSoftDelete: 'restrict'); soft-delete them first`,
      )
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.projects where id = ${parent} and deleted_at is null`)).toBe(1)
      expect(
        await count(sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs
          where tenant_id = ${tenantA} and action = 'projects.softDelete' and resource_id = ${parent} and outcome = 'failure' and error_code = 'CONFLICT'`),
      ).toBe(1)
    })

    it("cascades a soft delete to the project's live deployments and restores exactly those, audited with metadata.cascade on the tenant's shard", async () => {
      const parent = await project(tenantA, 'cascading')
      const repo = scopeA().repo('deployments')
      const children = await repo.createMany([1, 2, 3].map((i) => ({ name: `child-${i}`, project_id: parent })))
      await repo.softDelete(children[2]!.id)
      // tenant B's own deployment of its own project is untouched
      const theirs = await scopeB()
        .repo('deployments')
        .create({ name: 'theirs', project_id: await project(tenantB, 'theirs') })
      await recorded('softDelete cascade', () => scopeA().repo('projects').softDelete(parent))
      const state = async () =>
        (
          await sql<{ name: string; deleted: boolean }>`select name, deleted_at is not null as deleted from public.deployments
            where tenant_id = ${tenantA} and project_id = ${parent} order by name`.execute(db)
        ).rows
      expect(await state()).toEqual([
        { name: 'child-1', deleted: true },
        { name: 'child-2', deleted: true },
        { name: 'child-3', deleted: true },
      ])
      const cascaded = (
        await sql<Record<string, unknown>>`select resource_id, tenant_id, outcome, metadata from tenantry.audit_logs
          where tenant_id = ${tenantA} and action = 'deployments.softDelete' and metadata ? 'cascade' and resource_id = any(${children.map((c) => c.id)})
          order by resource_id`.execute(db)
      ).rows
      expect(cascaded.map((r) => r.resource_id)).toEqual(
        children
          .slice(0, 2)
          .map((c) => c.id)
          .sort(),
      )
      expect(cascaded.every((r) => r.outcome === 'success' && r.tenant_id === tenantA)).toBe(true)
      expect(cascaded[0]!.metadata).toMatchObject({ cascade: { from: 'projects', column: 'project_id' } })

      await recorded('restore cascade', () => scopeA().repo('projects').restore(parent))
      expect(await state()).toEqual([
        { name: 'child-1', deleted: false },
        { name: 'child-2', deleted: false },
        { name: 'child-3', deleted: true },
      ])
      const restored = (
        await sql<{ resource_id: string }>`select resource_id from tenantry.audit_logs
          where tenant_id = ${tenantA} and action = 'deployments.restore' and metadata ? 'cascade' order by resource_id`.execute(db)
      ).rows
      expect(restored.map((r) => r.resource_id)).toEqual(
        children
          .slice(0, 2)
          .map((c) => c.id)
          .sort(),
      )
      expect(
        (await sql<{ deleted_at: Date | null }>`select deleted_at from public.deployments where id = ${theirs.id}`.execute(db)).rows[0]!.deleted_at,
      ).toBeNull()

      // the cascade's audit rows sit on the tenant's shard, next to its deployments
      const placement = async (table: string) =>
        (
          await sql<{ nodeport: number; shard_name: string }>`select nodeport, shard_name from citus_shards
            where shardid = get_shard_id_for_distribution_column(${table}::regclass, ${tenantA}::uuid)`.execute(db)
        ).rows[0]!
      const audit = await placement('tenantry.audit_logs')
      expect(audit.nodeport).toBe((await placement('public.deployments')).nodeport)
      const worker = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${audit.nodeport}/postgres` })
      await worker.connect()
      try {
        const { rows } = await worker.query<{ n: number }>(
          `select count(*)::int as n from ${audit.shard_name.replace(/^(\w+)\.(\w+)$/, '"$1"."$2"')} where tenant_id = $1 and metadata ? 'cascade'`,
          [tenantA],
        )
        expect(rows[0]!.n).toBe(4)
      } finally {
        await worker.end()
      }
    })

    it('refuses to restore a deployment whose project is soft-deleted (FOREIGN_KEY_VIOLATION)', async () => {
      const parent = await project(tenantA, 'gone')
      const row = await scopeA().repo('deployments').create({ name: 'orphan', project_id: parent })
      await scopeA().repo('deployments').softDelete(row.id)
      await sql`update public.projects set deleted_at = now() where tenant_id = ${tenantA} and id = ${parent}`.execute(db)
      const error = await refusal(scopeA().repo('deployments').restore(row.id))
      expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id', operation: 'deployments.restore' })
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.deployments where id = ${row.id} and deleted_at is null`)).toBe(0)
    })
  })

  describe("hooks' args.before", () => {
    it('hands afterUpdate and afterDelete each row as it was, aligned with the rows', async () => {
      const parent = await project(tenantA, 'hooked')
      const repo = scopeA().repo('deployments')
      const [first, second] = await repo.createMany([
        { name: 'hook-b', project_id: parent },
        { name: 'hook-a', project_id: parent },
      ])
      hookCalls.length = 0
      await recorded('update with before', () => repo.update(first!.id, { name: 'hook-b2' }))
      await repo.updateMany({ project_id: parent }, { name: 'renamed' })
      await recorded('softDelete with before', () => repo.softDelete(second!.id))
      expect(hookCalls.map((c) => c.hook)).toEqual(['afterUpdate', 'afterUpdate', 'afterDelete'])
      const [single, many, deletion] = hookCalls as [(typeof hookCalls)[0], (typeof hookCalls)[0], (typeof hookCalls)[0]]
      expect(single.rows.map((r) => r.name)).toEqual(['hook-b2'])
      expect(single.before.map((r) => r.name)).toEqual(['hook-b'])
      expect(single.before[0]).toMatchObject({ id: first!.id, tenant_id: tenantA, project_id: parent, deleted_at: null })
      expect(single.before[0]!.updated_at).toBeInstanceOf(Date)
      expect(many.rows.map((r) => r.name)).toEqual(['renamed', 'renamed'])
      expect(many.before.map((r) => r.id)).toEqual(many.rows.map((r) => r.id))
      const wasNamed = Object.fromEntries(many.before.map((r) => [r.id, r.name]))
      expect(wasNamed).toEqual({ [first!.id]: 'hook-b2', [second!.id]: 'hook-a' })
      expect(deletion.rows.map((r) => r.id)).toEqual([second!.id])
      expect(deletion.before).toEqual([expect.objectContaining({ id: second!.id, name: 'renamed', deleted_at: null })])
      expect(deletion.rows[0]!.deleted_at).toBeInstanceOf(Date)
      // the old values never reach the caller
      const row = await repo.update(first!.id, { name: 'clean' })
      expect(Object.keys(row).some((k) => k.startsWith('__tenantry'))).toBe(false)
    })
  })

  describe("before hooks' args.before", () => {
    it('hands beforeUpdate and beforeDelete the target rows, locked on the tenant shard', async () => {
      const seen: { hook: string; before: Record<string, unknown>[] }[] = []
      const hooked = createTenantry<HostDB, typeof tables>({
        pool: strictPool,
        tables: {
          ...tables,
          deployments: defineTable<HostDB, 'deployments'>({
            table: 'deployments',
            softDelete: 'deleted_at',
            references: { project_id: { table: 'projects', onSoftDelete: 'cascade' } },
            hooks: {
              beforeUpdate: (patch, { before }) => {
                seen.push({ hook: 'beforeUpdate', before: before as never })
                return patch
              },
              beforeDelete: (_ids, { before, kind }) => void seen.push({ hook: `beforeDelete ${kind}`, before: before as never }),
            },
          }),
        },
      })
      const repo = hooked.withContext({ tenantId: tenantA }).repo('deployments')
      const row = await repo.create({ name: 'before-hooks', project_id: await project(tenantA, 'before-hooks') })
      await repo.update(row.id, { name: 'before-hooks 2' })
      await repo.softDelete(row.id)
      await repo.purge(row.id)
      expect(seen.map((s) => [s.hook, s.before.map((r) => r.name)])).toEqual([
        ['beforeUpdate', ['before-hooks']],
        ['beforeDelete soft', ['before-hooks 2']],
        ['beforeDelete purge', ['before-hooks 2']],
      ])
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.deployments where id = ${row.id}`)).toBe(0)
    })
  })

  describe('declared permissions', () => {
    it('refuses a write without the permission (FORBIDDEN, audited denied on the tenant shard) and allows it with the grant', async () => {
      const error = await refusal(scopeA(reader).repo('secrets').create({ label: 'nope' }))
      expect(error.code).toBe('FORBIDDEN')
      expect(error.message).toBe('secrets.create: writing secrets needs permission "secrets:write", not granted in this tenant')
      expect(await scopeA(reader).repo('secrets').count()).toBe(0)
      const created = await recorded('create with permission', () => scopeA(writer).repo('secrets').create({ label: 'yes' }))
      expect(await scopeA(reader).repo('secrets').findById(created.id)).toMatchObject({ label: 'yes' })
      const denied = await refusal(scopeA().repo('secrets').findMany())
      expect(denied.code).toBe('FORBIDDEN')
      expect((await sql<{ label: string }>`select label from public.secrets where tenant_id = ${tenantA}`.execute(db)).rows).toEqual([{ label: 'yes' }])
      const { rows } = await sql<Record<string, unknown>>`select action, outcome, error_code, actor_user_id from tenantry.audit_logs
        where tenant_id = ${tenantA} and resource_type = 'secrets' order by created_at`.execute(db)
      expect(rows.map((r) => [r.action, r.outcome, r.error_code])).toEqual([
        ['secrets.create', 'denied', 'FORBIDDEN'],
        ['secrets.create', 'success', null],
        ['secrets.findMany', 'denied', 'FORBIDDEN'],
      ])
    })

    it('enforces them in scope.db too, on the tenant shard', async () => {
      const insert = (actor: string, label: string) => scopeA(actor).db.insertInto('secrets').values({ tenant_id: tenantA, label }).execute()
      const error = await refusal(insert(reader, 'via db, refused'))
      expect(error.code).toBe('FORBIDDEN')
      await insert(writer, 'via db')
      expect((await scopeA(reader).db.selectFrom('secrets').select('label').orderBy('label').execute()).map((r) => r.label)).toEqual(['via db', 'yes'])
      expect((await refusal(scopeA().db.selectFrom('secrets').selectAll().execute())).code).toBe('FORBIDDEN')
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.secrets where label like 'via db%'`)).toBe(1)
    })
  })

  describe('triggerContext: true', () => {
    it("hands the scope's actor and request id to the host's triggers on the workers", async () => {
      const stamped = createTenantry<HostDB, typeof tables>({ pool: strictPool, tables, triggerContext: true })
      const requestId = `req-'quoted' \\ back\\slash ü`
      const scope = stamped.withContext({ tenantId: tenantA, actorId: writer, requestId })
      const ticket = await scope.repo('tickets').create({ title: 'stamped' })
      const read = async () =>
        (
          await sql<{
            touched_by: string | null
            touched_request: string | null
          }>`select touched_by, touched_request from public.tickets where id = ${ticket.id}`.execute(db)
        ).rows[0]
      expect(await read()).toEqual({ touched_by: writer, touched_request: requestId })
      await stamped.withContext({ tenantId: tenantA, actorId: reader }).repo('tickets').update(ticket.id, { title: 'again' })
      expect(await read()).toEqual({ touched_by: reader, touched_request: null })
    })
  })

  describe('in a system scope (asSystem): across shards, so on ordinary connections', () => {
    it("checks a row's references against its own tenant; its updates and soft deletes are refused by Citus (row locks across shards)", async () => {
      const plain = createTenantry<HostDB, typeof tables>({ pool: plainPool, tables })
      const system = plain.asSystem({ reason: 'citus system references' })
      const parent = await project(tenantB, 'system-parent')
      const child = await system.repo('deployments').create({ tenant_id: tenantB, name: 'system-child', project_id: parent })
      const error = await refusal(system.repo('deployments').create({ tenant_id: tenantA, name: 'system-cross', project_id: parent }))
      expect(error.message).toBe('deployments.create: "project_id" must reference a live row of "projects" in the same tenant')
      // Citus cannot lock rows across shards: a system scope's update, soft delete, restore or purge
      // (no tenant to route by) is refused, with an error naming the limit (docs/scale-out.md)
      const locked = await refusal(system.repo('projects').softDelete(parent))
      expect(locked).toMatchObject({ code: 'CONFIGURATION', sqlState: '0A000', operation: 'projects.softDelete' })
      expect(locked.message).toContain('on Citus a system scope (asSystem) cannot change rows of a distributed table')
      const renamed = await refusal(system.repo('projects').update(parent, { name: 'renamed by the system' }))
      expect(renamed.code).toBe('CONFIGURATION')
      expect(await count(sql<{ n: number }>`select count(*)::int as n from public.deployments where id = ${child.id} and deleted_at is null`)).toBe(1)
      // on strict connections the same create is refused by Citus: its check is a select over every shard
      const strictSystem = app.asSystem({ reason: 'citus system references, strict' })
      const multiShard = await refusal(strictSystem.repo('deployments').create({ tenant_id: tenantB, name: 'system-strict', project_id: parent }))
      expect(multiShard.code).toBe('DATABASE')
    })
  })

  it('sends each write as statements in one transaction (round trips per operation)', () => {
    expect(Object.fromEntries(Object.entries(sentByOp).map(([op, queries]) => [op, kinds(queries)]))).toEqual({
      // the reference check (a select over the values), the insert, its audit insert
      create: ['begin', 'with', 'insert', 'insert', 'commit'],
      createMany: ['begin', 'with', 'insert', 'insert', 'commit'],
      // no audit, no transaction: the check and the insert
      'create unaudited': ['with', 'insert'],
      // the check rides in the update statement
      update: ['begin', 'with', 'insert', 'commit'],
      'update with before': ['begin', 'with', 'insert', 'commit'],
      'softDelete with before': ['begin', 'with', 'insert', 'commit'],
      // the restrict check rides in the soft delete, which fails; then its failure audit row
      'softDelete restrict': ['begin', 'with', 'rollback', 'insert'],
      // the project, then its deployments: a change and an audit insert per table
      'softDelete cascade': ['begin', 'with', 'insert', 'with', 'insert', 'commit'],
      // plus the project's soft-delete time, read before the restore clears it
      'restore cascade': ['begin', 'select', 'with', 'insert', 'with', 'insert', 'commit'],
      // the writer's grants, read once per scope
      'create with permission': ['select', 'begin', 'insert', 'insert', 'commit'],
    })
  })

  it('plans every statement as one task on the tenant node (EXPLAIN)', async () => {
    for (const [op, queries] of Object.entries(sentByOp)) {
      for (const statement of queries.filter((q) => /^\s*(with|insert|select)\b/i.test(q.text))) {
        const plan = await explainPlan(plainPool, statement)
        expect(plan, `${op}: ${statement.text}`).toMatch(/Task Count: 1\b/)
        expect(plan, `${op}: ${statement.text}`).not.toMatch(/Task Count: (?!1\b)\d+|Distributed Subplan/)
      }
    }
  })

  it('makes tenantry.reference_guard a distributed function when it was created before the citus extension (distribute)', async () => {
    await sql`drop function tenantry.reference_guard(boolean, text, text, text)`.execute(db)
    // as on an install that had tenantry before it moved to Citus: the function on the coordinator only, not a distributed object
    const definition = (await import('node:fs'))
      .readFileSync(new URL('../../migrations/0006_reference_guard.up.sql', import.meta.url), 'utf8')
      .replaceAll('{{schema}}', 'tenantry')
    const client = new pg.Client({ connectionString: cluster.url })
    await client.connect()
    try {
      await client.query('set citus.enable_ddl_propagation = off')
      await client.query(definition)
    } finally {
      await client.end()
    }
    const workerHas = () => onEveryWorker<{ found: boolean }>(`select to_regprocedure('tenantry.reference_guard(boolean,text,text,text)') is not null as found`)
    expect(await workerHas()).toEqual([{ found: false }, { found: false }])
    const { changed } = await admin.citus.distribute()
    expect(changed).toEqual(['tenantry.reference_guard(boolean,text,text,text): distributed function (created on every node)'])
    expect(await workerHas()).toEqual([{ found: true }, { found: true }])
    expect((await admin.citus.distribute()).changed).toEqual([])
    const own = await project(tenantA, 'after-distribute')
    expect(await scopeA().repo('deployments').create({ name: 'after-distribute', project_id: own })).toMatchObject({ project_id: own })
  })

  it('re-creates tenantry.reference_guard on the workers when its migration runs after distribute', async () => {
    await sql`drop function tenantry.reference_guard(boolean, text, text, text)`.execute(db)
    await sql`delete from tenantry.tenantry_migration where name like '0006%'`.execute(db)
    // as on a cluster distributed before the function existed
    await onEveryWorker('drop function if exists tenantry.reference_guard(boolean, text, text, text)')
    const { error } = await admin.migrate()
    expect(error).toBeUndefined()
    expect(await onEveryWorker<{ found: boolean }>(`select to_regprocedure('tenantry.reference_guard(boolean,text,text,text)') is not null as found`)).toEqual([
      { found: true },
      { found: true },
    ])
    const own = await project(tenantA, 'after-migrate')
    expect(await scopeA().repo('deployments').create({ name: 'after-migrate', project_id: own })).toMatchObject({ project_id: own })
    expect((await refusal(scopeA().repo('deployments').create({ name: 'after-migrate-bad', project_id: '00000000-0000-4000-8000-000000000002' }))).code).toBe(
      'FOREIGN_KEY_VIOLATION',
    )
  })
})
