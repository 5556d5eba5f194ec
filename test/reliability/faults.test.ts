import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TenantScope } from '../../src/tenant-scope.js'
import type { Tenantry } from '../../src/create-tenantry.js'
import { TenantryError } from '../../src/errors/tenantry-error.js'
import { makeTenantry, type AppDB } from '../support/host-schema.js'
import { KEY_1, selectorOf } from '../tokens/token-fixtures.js'
import {
  adminQuery,
  checkInvariants,
  holdLocks,
  prepareDatabase,
  rejection,
  terminate,
  waitForIdleInTransaction,
  waitForLockWaiters,
  type SeededWorld,
} from './support/fault-harness.js'
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js'
import { startRestartableServer, type RestartableServer } from './support/restartable-server.js'

/**
 * Faults against a server this file owns: backends terminated with pg_terminate_backend while an
 * operation is held in flight by a lock, responses lost after the server committed (a proxy drops
 * them), and an immediate stop and restart of the server. The host's pool is a plain
 * `new pg.Pool()` without any `error` listener: an unhandled `error` event would end the process.
 */

const crashes: unknown[] = []
const onCrash = (error: unknown) => void crashes.push(error)
const acknowledged = new Set<string>()
const tally = { operations: 0, errors: new Map<string, number>() }

let server: RestartableServer
let proxy: FaultProxy
let world: SeededWorld
const pools: pg.Pool[] = []
let tenantry: Tenantry<AppDB>
let retrying: Tenantry<AppDB>

const LOCK_PROJECTS = { text: 'lock table projects in access exclusive mode' }
const LOCK_MEMBERSHIPS = { text: 'lock table tenantry.memberships in access exclusive mode' }
const lockSession = (sessionId: string) => ({ text: 'select 1 from tenantry.sessions where id = $1 for update', values: [sessionId] })

/** A plain pool, as a host makes it: no `error` listener on the pool or its clients. */
function plainPool(options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: server.url, max: 8, ...options })
  pools.push(pool)
  return pool
}

function scopeOf(t: Tenantry<AppDB>, requestId: string = randomUUID()): TenantScope<AppDB> {
  return t.withContext({ tenantId: world.tenantId, actorId: world.actorId, requestId })
}

/** Counts an operation and, when it failed, its error code. */
async function counted<T>(promise: Promise<T>): Promise<T> {
  tally.operations++
  try {
    return await promise
  } catch (error) {
    const code = error instanceof TenantryError ? error.code : 'UNTYPED'
    tally.errors.set(code, (tally.errors.get(code) ?? 0) + 1)
    throw error
  }
}

async function createProject(t: Tenantry<AppDB>, name: string, requestId: string = randomUUID()) {
  const row = await counted(scopeOf(t, requestId).repo('projects').create({ name }))
  acknowledged.add(row.id)
  return row
}

async function auditRowsOf(requestId: string) {
  return adminQuery<{ action: string; outcome: string; error_code: string | null; resource_id: string | null }>(
    server.url,
    'select action, outcome, error_code, resource_id from tenantry.audit_logs where request_id = $1 order by created_at, id',
    [requestId],
  )
}

async function projectsNamed(name: string) {
  return adminQuery<{ id: string }>(server.url, 'select id::text from projects where name = $1', [name])
}

function expectTyped(error: unknown, code: 'RETRYABLE' | 'OUTCOME_UNKNOWN') {
  expect(error).toBeInstanceOf(TenantryError)
  expect(error).toMatchObject({ code, retryable: code === 'RETRYABLE' })
  // Messages never carry the connection string (with its password) or bound values.
  expect(String((error as Error).message)).not.toContain(new URL(server.url).password)
}

/** The six kinds of operation, each started while `holdLocks` keeps it waiting. */
function operations(t: Tenantry<AppDB>, token: () => string) {
  return {
    read: { locks: [LOCK_PROJECTS], run: () => counted(scopeOf(t).repo('projects').findMany({ limit: 5 })), expect: 'RETRYABLE' as const },
    auditedWrite: { locks: [LOCK_PROJECTS], run: () => createProject(t, `held-${randomUUID()}`), expect: 'OUTCOME_UNKNOWN' as const },
    bulkWrite: {
      locks: [LOCK_PROJECTS],
      run: () =>
        counted(
          scopeOf(t)
            .repo('projects')
            .createMany([{ name: `bulk-${randomUUID()}` }, { name: `bulk-${randomUUID()}` }]),
        ),
      expect: 'OUTCOME_UNKNOWN' as const,
    },
    transaction: {
      locks: [LOCK_PROJECTS],
      run: () =>
        counted(
          scopeOf(t).transaction(async (tx) => {
            await tx.repo('projects').create({ name: `tx-${randomUUID()}` })
            await tx.repo('projects').create({ name: `tx-${randomUUID()}` })
          }),
        ),
      expect: 'RETRYABLE' as const,
    },
    rotate: { locks: [] as { text: string; values?: unknown[] }[], run: () => counted(t.tokens.rotate(token())), expect: 'OUTCOME_UNKNOWN' as const },
    permissionCheck: { locks: [LOCK_MEMBERSHIPS], run: () => counted(scopeOf(t).can('projects:write')), expect: 'RETRYABLE' as const },
  }
}

beforeAll(async () => {
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  server = await startRestartableServer()
  world = await prepareDatabase(server.url)
  proxy = await startFaultProxy({ host: '127.0.0.1', port: server.port })
  tenantry = makeTenantry(plainPool())
  retrying = makeTenantry(plainPool(), { retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 }, tokens: { keys: { k1: KEY_1 } } })
  // Column introspection and the isolation check happen once, before any fault.
  await tenantry.ready()
  await retrying.ready()
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(pools.map((pool) => pool.end()))
  await proxy?.close()
  await server?.destroy()
  process.off('uncaughtException', onCrash)
  process.off('unhandledRejection', onCrash)
  console.info(`faults: ${tally.operations} operations, errors ${JSON.stringify(Object.fromEntries(tally.errors))}`)
})

describe('a backend terminated while the operation is in flight', () => {
  it('gives each kind of operation a typed error with the right retryable flag, and the pool serves the next request', async () => {
    const issued = await tenantry.tokens.issue({ userId: world.actorId, tenantId: world.tenantId })
    let current = issued.token
    const ops = operations(tenantry, () => current)
    for (const [name, op] of Object.entries(ops)) {
      const locks = await holdLocks(server.url, name === 'rotate' ? [lockSession(issued.sessionId)] : op.locks)
      const pending = rejection(op.run())
      try {
        await terminate(server.url, await waitForLockWaiters(server.url, 1))
      } finally {
        await locks.release()
      }
      const error = await pending
      expectTyped(error, op.expect)
      // The next request of the same kind succeeds on the same pool.
      if (name === 'rotate') current = (await counted(tenantry.tokens.rotate(current))).token
      else await op.run()
    }
    expect(crashes).toEqual([])
  })

  it('gives a scope.db query inside scope.transaction a typed error when its backend is terminated, and scope.db serves the next query', async () => {
    const locks = await holdLocks(server.url, [LOCK_PROJECTS])
    const pending = rejection(counted(scopeOf(tenantry).transaction(async (tx) => tx.db.selectFrom('projects').select(['id', 'name']).limit(5).execute())))
    try {
      await terminate(server.url, await waitForLockWaiters(server.url, 1))
    } finally {
      await locks.release()
    }
    expectTyped(await pending, 'RETRYABLE')
    const rows = await counted(scopeOf(tenantry).db.selectFrom('projects').select('id').limit(1).execute())
    expect(rows.length).toBeLessThanOrEqual(1)
    expect(crashes).toEqual([])
  })

  it('never commits a write whose backend was terminated before it finished: no row, no success audit row', async () => {
    const requestId = randomUUID()
    const name = `terminated-${requestId}`
    const locks = await holdLocks(server.url, [LOCK_PROJECTS])
    const pending = rejection(createProject(tenantry, name, requestId))
    try {
      await terminate(server.url, await waitForLockWaiters(server.url, 1))
    } finally {
      await locks.release()
    }
    expect(await pending).toMatchObject({ code: 'OUTCOME_UNKNOWN', operation: 'projects.create' })
    expectTyped(await pending, 'OUTCOME_UNKNOWN')
    expect(await projectsNamed(name)).toEqual([])
    // One failure row for the attempt, saying the outcome is unknown; no success row.
    expect((await auditRowsOf(requestId)).map((r) => [r.outcome, r.error_code])).toEqual([['failure', 'OUTCOME_UNKNOWN']])
  })

  it('keeps the process alive when the connection of an open scope.transaction dies between two statements', async () => {
    const pool = plainPool({ application_name: 'idle-in-tx' })
    const local = makeTenantry(pool)
    await local.ready()
    const requestId = randomUUID()
    let proceed!: () => void
    const gate = new Promise<void>((resolve) => (proceed = resolve))
    const pending = rejection(
      counted(
        scopeOf(local, requestId).transaction(async (tx) => {
          await tx.repo('projects').create({ name: `first-${requestId}` })
          await gate
          await tx.repo('projects').create({ name: `second-${requestId}` })
        }),
      ),
    )
    // The checked-out client is idle in the transaction when its backend goes: pg emits 'error' on it.
    await terminate(server.url, [await waitForIdleInTransaction(server.url, 'idle-in-tx')])
    await new Promise((resolve) => setTimeout(resolve, 100))
    proceed()
    expectTyped(await pending, 'RETRYABLE')
    expect(await projectsNamed(`first-${requestId}`)).toEqual([])
    expect((await auditRowsOf(requestId)).filter((r) => r.outcome === 'success')).toEqual([])
    // The pool replaced the broken client.
    await createProject(local, `after-${requestId}`)
    expect(crashes).toEqual([])
  })
})

describe('retries users do not write', () => {
  it('re-runs scope.transaction after a lost connection and audits the failed attempt once', async () => {
    const pool = plainPool({ application_name: 'retried-tx' })
    const local = makeTenantry(pool)
    await local.ready()
    const requestId = randomUUID()
    let attempts = 0
    let proceed!: () => void
    const gate = new Promise<void>((resolve) => (proceed = resolve))
    const done = counted(
      scopeOf(local, requestId).transaction(
        async (tx) => {
          attempts++
          const row = await tx.repo('projects').create({ name: `retried-${requestId}` })
          if (attempts === 1) await gate
          return row
        },
        { retry: { attempts: 3, baseDelayMs: 10 } },
      ),
    )
    await terminate(server.url, [await waitForIdleInTransaction(server.url, 'retried-tx')])
    await new Promise((resolve) => setTimeout(resolve, 100))
    proceed()
    const row = await done
    acknowledged.add(row.id)
    expect(attempts).toBe(2)
    expect((await projectsNamed(`retried-${requestId}`)).map((r) => r.id)).toEqual([row.id])
    const audit = await auditRowsOf(requestId)
    expect(audit.filter((r) => r.outcome === 'failure')).toHaveLength(1)
    expect(audit.filter((r) => r.outcome === 'success').map((r) => r.resource_id)).toEqual([row.id])
  })

  it('retries a single audited write after a lock timeout, with one failure row per failed attempt', async () => {
    const local = makeTenantry(plainPool({ options: '-c lock_timeout=150' }), { retry: { attempts: 10, baseDelayMs: 50, maxDelayMs: 300 } })
    await local.ready()
    const requestId = randomUUID()
    const locks = await holdLocks(server.url, [LOCK_PROJECTS])
    const done = createProject(local, `lock-timeout-${requestId}`, requestId)
    // Release the lock once the first attempt has failed and left its failure row.
    const deadline = Date.now() + 10_000
    while ((await auditRowsOf(requestId)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await locks.release()
    const row = await done
    const audit = await auditRowsOf(requestId)
    const failures = audit.filter((r) => r.outcome === 'failure')
    expect(failures.length).toBeGreaterThanOrEqual(1)
    expect(failures.length).toBeLessThanOrEqual(9)
    expect(failures.every((r) => r.error_code === 'RETRYABLE')).toBe(true)
    expect(audit.filter((r) => r.outcome === 'success').map((r) => r.resource_id)).toEqual([row.id])
    expect((await projectsNamed(`lock-timeout-${requestId}`)).map((r) => r.id)).toEqual([row.id])
  })
})

describe('a response lost after the server committed', () => {
  it('reports OUTCOME_UNKNOWN for a lost COMMIT, never retries it, and the change is there with its audit rows', async () => {
    const local = makeTenantry(plainPool({ connectionString: viaProxy(), max: 2 }))
    await local.ready()
    const requestId = randomUUID()
    // The simple-protocol message of COMMIT itself (the text "commit" alone also occurs in other statements).
    const dropped = proxy.dropResponseTo('Q\u0000\u0000\u0000\u000bcommit\u0000')
    const error = await rejection(
      counted(
        scopeOf(local, requestId).transaction(async (tx) => void (await tx.repo('projects').create({ name: `commit-${requestId}` })), {
          retry: true,
        }),
      ),
    )
    await dropped
    expectTyped(error, 'OUTCOME_UNKNOWN')
    const rows = await projectsNamed(`commit-${requestId}`)
    expect(rows).toHaveLength(1)
    for (const row of rows) acknowledged.add(row.id)
    expect((await auditRowsOf(requestId)).filter((r) => r.outcome === 'success').map((r) => r.resource_id)).toEqual([rows[0]!.id])
  })

  it('reports OUTCOME_UNKNOWN for a single audited write whose answer was lost, and does not write it twice', async () => {
    const local = makeTenantry(plainPool({ connectionString: viaProxy(), max: 2 }), { retry: true })
    await local.ready()
    const requestId = randomUUID()
    const name = `lost-answer-${requestId}`
    const dropped = proxy.dropResponseTo(name)
    const error = await rejection(createProject(local, name, requestId))
    await dropped
    expectTyped(error, 'OUTCOME_UNKNOWN')
    const rows = await projectsNamed(name)
    expect(rows).toHaveLength(1)
    acknowledged.add(rows[0]!.id)
  })

  it('reports OUTCOME_UNKNOWN for a scope.db insert outside a transaction whose answer was lost', async () => {
    const local = makeTenantry(plainPool({ connectionString: viaProxy(), max: 2 }))
    await local.ready()
    const name = `lost-scope-db-${randomUUID()}`
    const dropped = proxy.dropResponseTo(name)
    const error = await rejection(
      counted(
        scopeOf(local)
          .db.insertInto('projects')
          .values({ name } as never)
          .execute(),
      ),
    )
    await dropped
    expectTyped(error, 'OUTCOME_UNKNOWN')
    expect(await projectsNamed(name)).toHaveLength(1)
    // scope.db writes are not audited: take the row out of the audited-writes invariant below.
    await adminQuery(server.url, 'delete from projects where name = $1', [name])
  })

  it('retries a rotation whose answer was lost inside the grace window and returns the same successor', async () => {
    const local = makeTenantry(plainPool({ connectionString: viaProxy(), max: 2 }), {
      retry: { attempts: 3, baseDelayMs: 20 },
      tokens: { keys: { k1: KEY_1 }, graceMs: 10_000 },
    })
    const issued = await local.tokens.issue({ userId: world.actorId, tenantId: world.tenantId })
    const dropped = proxy.dropResponseTo('tokens_rotate')
    const next = await counted(local.tokens.rotate(issued.token))
    await dropped
    const chain = await adminQuery<{ selector: string; generation: number }>(
      server.url,
      'select selector, generation from tenantry.refresh_tokens where session_id = $1 order by generation',
      [issued.sessionId],
    )
    // The first call committed the successor; the retry landed in the grace window and got it back.
    expect(chain.map((r) => r.generation)).toEqual([0, 1])
    expect(selectorOf(next.token)).toBe(chain[1]!.selector)
    const [session] = await adminQuery<{ revoked_at: Date | null }>(server.url, 'select revoked_at from tenantry.sessions where id = $1', [issued.sessionId])
    expect(session!.revoked_at).toBeNull()
    await counted(local.tokens.rotate(next.token))
  })
})

describe('the server stopped with -m immediate and restarted', () => {
  it('fails every operation in flight with a typed error, refuses while down, and serves again after the restart', async () => {
    const issued = await tenantry.tokens.issue({ userId: world.actorId, tenantId: world.tenantId })
    let current = issued.token
    const ops = operations(tenantry, () => current)
    const locks = await holdLocks(server.url, [LOCK_PROJECTS, LOCK_MEMBERSHIPS, lockSession(issued.sessionId)])
    const pending = Object.entries(ops).map(([name, op]) => ({ name, expected: op.expect, error: rejection(op.run()) }))
    await waitForLockWaiters(server.url, pending.length)
    await server.stopImmediately()
    await locks.release()
    for (const op of pending) expectTyped(await op.error, op.expected)

    // While the server is down nothing was sent: retryable, for reads and writes alike.
    expectTyped(await rejection(ops.read.run()), 'RETRYABLE')
    expectTyped(await rejection(ops.auditedWrite.run()), 'RETRYABLE')

    await server.start()
    for (const [name, op] of Object.entries(ops)) {
      if (name === 'rotate') current = (await counted(tenantry.tokens.rotate(current))).token
      else await op.run()
    }
    // The retrying instance comes back as well (its idle clients died with the server).
    await createProject(retrying, `after-restart-${randomUUID()}`)
    expect(crashes).toEqual([])
  }, 30_000)
})

describe("under isolation: 'rls', as a non-owner role", () => {
  it('types a write terminated before COMMIT as RETRYABLE (nothing written) and a lost COMMIT as OUTCOME_UNKNOWN (written, audited)', async () => {
    await makeTenantry(plainPool()).rls.enable()
    const password = 'app-role-secret'
    await adminQuery(server.url, `create role tenantry_faults_app login password '${password}' nosuperuser nobypassrls`)
    for (const schema of ['tenantry', 'public']) {
      await adminQuery(server.url, `grant usage on schema ${schema} to tenantry_faults_app`)
      await adminQuery(server.url, `grant select, insert, update, delete on all tables in schema ${schema} to tenantry_faults_app`)
      await adminQuery(server.url, `grant usage on all sequences in schema ${schema} to tenantry_faults_app`)
    }
    const url = new URL(viaProxy())
    url.username = 'tenantry_faults_app'
    url.password = password
    const app = makeTenantry(plainPool({ connectionString: url.toString() }), { isolation: 'rls' })
    await app.ready()

    // Under RLS a single write runs in BEGIN ... COMMIT: terminated before COMMIT, it certainly rolled back.
    const held = `rls-held-${randomUUID()}`
    const locks = await holdLocks(server.url, [LOCK_PROJECTS])
    const pending = rejection(createProject(app, held))
    try {
      await terminate(server.url, await waitForLockWaiters(server.url, 1))
    } finally {
      await locks.release()
    }
    expectTyped(await pending, 'RETRYABLE')
    expect(await projectsNamed(held)).toEqual([])

    const requestId = randomUUID()
    const name = `rls-commit-${requestId}`
    const dropped = proxy.dropResponseTo('Q\u0000\u0000\u0000\u000bcommit\u0000')
    expectTyped(await rejection(createProject(app, name, requestId)), 'OUTCOME_UNKNOWN')
    await dropped
    const rows = await projectsNamed(name)
    expect(rows).toHaveLength(1)
    acknowledged.add(rows[0]!.id)
    expect((await auditRowsOf(requestId)).filter((r) => r.outcome === 'success').map((r) => r.resource_id)).toEqual([rows[0]!.id])
    // The pool serves the next request.
    await createProject(app, `rls-after-${requestId}`)
    expect(crashes).toEqual([])
  })

  it('with a pipelining pool, types a write whose flight (BEGIN, statement, COMMIT) lost its answers as OUTCOME_UNKNOWN, never a change without its audit row', async () => {
    // The role of the previous test.
    const url = new URL(viaProxy())
    url.username = 'tenantry_faults_app'
    url.password = 'app-role-secret'
    const app = makeTenantry(plainPool({ connectionString: url.toString(), pipeline: true }), { isolation: 'rls' })
    await app.ready()
    const requestId = randomUUID()
    const name = `rls-pipelined-${requestId}`
    // COMMIT travels with BEGIN and the insert: once it is on the wire, a lost answer may hide a commit.
    const dropped = proxy.dropResponseTo('Q\u0000\u0000\u0000\u000bcommit\u0000')
    expectTyped(await rejection(createProject(app, name, requestId)), 'OUTCOME_UNKNOWN')
    await dropped
    const rows = await projectsNamed(name)
    const successes = (await auditRowsOf(requestId)).filter((r) => r.outcome === 'success').map((r) => r.resource_id)
    // Whether the server got to COMMIT before the connection closed, the change and its audit row go together.
    expect(successes).toEqual(rows.map((r) => r.id))
    for (const row of rows) acknowledged.add(row.id)
    // The pool serves the next request, in one flight again.
    const next = await createProject(app, `rls-pipelined-after-${requestId}`)
    expect(await projectsNamed(`rls-pipelined-after-${requestId}`)).toEqual([{ id: next.id }])
    expect(crashes).toEqual([])
  })
})

describe('invariants after all faults', () => {
  it('lost no acknowledged write, left no change without its audit row nor a success row without its change, branched no token family', async () => {
    // A bounded burst of ordinary work on top, so the check covers more than the faulted calls.
    for (let i = 0; i < 20; i++) await createProject(retrying, `burst-${i}-${randomUUID()}`)
    const report = await checkInvariants(server.url, acknowledged)
    expect(report).toEqual({ acknowledgedMissing: [], changesWithoutAudit: 0, successAuditWithoutChange: 0, branchedFamilies: 0 })
    expect(crashes).toEqual([])
  })
})

function viaProxy(): string {
  const url = new URL(server.url)
  url.port = String(proxy.port)
  return url.toString()
}
