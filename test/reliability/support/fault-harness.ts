import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { migrate } from '../../../src/migration/migrate.js'
import { createHostTables } from '../../support/host-schema.js'

/** Runs one statement on a fresh connection of its own (the test's side channel, never tenantry's pool). */
export async function adminQuery<Row extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query<Row>(text, values)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Holds a lock from a connection of its own until `release()`: `statements` run inside an open
 * transaction (`lock table ...`, `select ... for update`). An operation that needs the lock waits,
 * in flight, for as long as the test likes.
 */
export async function holdLocks(url: string, statements: { text: string; values?: unknown[] }[]): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  await client.query('begin')
  for (const statement of statements) await client.query(statement.text, statement.values ?? [])
  return {
    async release() {
      await client.query('rollback').catch(() => {})
      await client.end().catch(() => {})
    },
  }
}

/** Waits (bounded) until `count` backends wait on a lock; returns their pids. */
export async function waitForLockWaiters(url: string, count: number, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await adminQuery<{ pid: number }>(
      url,
      "select pid from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and pid <> pg_backend_pid()",
    )
    if (rows.length >= count) return rows.map((r) => r.pid)
    if (Date.now() > deadline) throw new Error(`expected ${count} backends waiting on a lock, saw ${rows.length}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Waits (bounded) until a backend of `applicationName` is idle inside a transaction; returns its pid. */
export async function waitForIdleInTransaction(url: string, applicationName: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await adminQuery<{ pid: number }>(url, "select pid from pg_stat_activity where state = 'idle in transaction' and application_name = $1", [
      applicationName,
    ])
    if (rows[0]) return rows[0].pid
    if (Date.now() > deadline) throw new Error('no backend idle in transaction')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export async function terminate(url: string, pids: number[]): Promise<void> {
  await adminQuery(url, 'select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids])
}

/** Catches a rejection and returns the error; a resolution fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the operation to fail')
}

export interface SeededWorld {
  tenantId: string
  actorId: string
}

/** Bundled migrations, the host tables, one tenant with an actor who holds `projects:write`. */
export async function prepareDatabase(url: string): Promise<SeededWorld> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    const { error } = await migrate({ db })
    if (error) throw error
    await createHostTables(db)
    const tenantId = randomUUID()
    const actorId = randomUUID()
    await sql`insert into tenantry.tenants (id, slug, name) values (${tenantId}, 'faults', 'Faults')`.execute(db)
    await sql`insert into tenantry.users (id, email) values (${actorId}, 'faults@example.com')`.execute(db)
    await sql`insert into tenantry.memberships (tenant_id, user_id) values (${tenantId}, ${actorId})`.execute(db)
    const { rows } = await sql<{ id: string }>`
      insert into tenantry.roles (tenant_id, name, permissions) values (${tenantId}, 'writer', '{projects:write}') returning id`.execute(db)
    await sql`insert into tenantry.user_roles (tenant_id, user_id, role_id) values (${tenantId}, ${actorId}, ${rows[0]!.id})`.execute(db)
    return { tenantId, actorId }
  } finally {
    await db.destroy()
  }
}

export interface InvariantReport {
  acknowledgedMissing: string[]
  changesWithoutAudit: number
  successAuditWithoutChange: number
  branchedFamilies: number
}

/**
 * The invariants of a fault run: every acknowledged project is there; every project has its
 * `projects.create` success row; every such row names a project that exists; no token has two
 * successors.
 */
export async function checkInvariants(url: string, acknowledged: Iterable<string>): Promise<InvariantReport> {
  const ids = [...acknowledged]
  const present = await adminQuery<{ id: string }>(url, 'select id::text from projects where id = any($1::uuid[])', [ids])
  const presentIds = new Set(present.map((r) => r.id))
  const [withoutAudit] = await adminQuery<{ n: number }>(
    url,
    `select count(*)::int as n from projects p
      where not exists (select 1 from tenantry.audit_logs a
                         where a.action = 'projects.create' and a.outcome = 'success' and a.resource_id = p.id::text)`,
  )
  const [auditWithoutChange] = await adminQuery<{ n: number }>(
    url,
    `select count(*)::int as n from tenantry.audit_logs a
      where a.resource_type = 'projects' and a.outcome = 'success' and a.action = 'projects.create'
        and not exists (select 1 from projects p where p.id::text = a.resource_id)`,
  )
  const [branched] = await adminQuery<{ n: number }>(
    url,
    `select count(*)::int as n from (select parent_id from tenantry.refresh_tokens
      where parent_id is not null group by parent_id having count(*) > 1) as b`,
  )
  return {
    acknowledgedMissing: ids.filter((id) => !presentIds.has(id)),
    changesWithoutAudit: withoutAudit!.n,
    successAuditWithoutChange: auditWithoutChange!.n,
    branchedFamilies: branched!.n,
  }
}
