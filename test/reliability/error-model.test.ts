import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { TenantryError } from '../../src/errors/tenantry-error.js'
import { freePort } from '../../src/testing/free-port.js'
import { createHostTables, insertTenant, makeTenantry } from '../support/host-schema.js'
import { useFileDatabase } from '../support/test-database.js'

const PASSWORD = 'correct-horse-battery-staple'
const file = await useFileDatabase()
const TENANT = '00000000-0000-4000-8000-000000000001'

/** A plain pool on a port nothing listens on, with a password in its connection string. */
async function refusingPool(): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: `postgres://app:${PASSWORD}@127.0.0.1:${await freePort()}/app`, max: 2 })
  pools.push(pool)
  return pool
}
const pools: pg.Pool[] = []
afterAll(async () => {
  await Promise.allSettled(pools.map((pool) => pool.end()))
})

describe('the error model of a connection that cannot be made', () => {
  it('turns ECONNREFUSED into RETRYABLE for reads, writes and ready(), without the password', async () => {
    const tenantry = makeTenantry(await refusingPool())
    const scope = tenantry.withContext({ tenantId: TENANT })
    for (const call of [() => tenantry.ready(), () => scope.repo('projects').findMany(), () => scope.transaction(async () => 1)]) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(TenantryError)
      expect(error).toMatchObject({ code: 'RETRYABLE', retryable: true, outcomeUnknown: false })
      expect(JSON.stringify(error)).not.toContain(PASSWORD)
      expect(String((error as Error).message)).not.toContain(PASSWORD)
      expect(String(((error as Error).cause as Error).message)).not.toContain('127.0.0.1')
    }
    // The error names the step that failed: here the first use, which reads the declared tables' columns.
    await expect(scope.repo('projects').count()).rejects.toMatchObject({ code: 'RETRYABLE', operation: 'ready' })
  })

  it('retries a refused connection the configured number of times, then reports RETRYABLE', async () => {
    const pool = await refusingPool()
    let connects = 0
    pool.on('connect', () => connects++)
    const originalConnect = pool.connect.bind(pool)
    let attempts = 0
    pool.connect = (() => {
      attempts++
      return originalConnect()
    }) as typeof pool.connect
    const tenantry = makeTenantry(pool, { retry: { attempts: 3, baseDelayMs: 5 } })
    const error = await tenantry.tokens.listSessions(TENANT).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'RETRYABLE', retryable: true })
    expect(attempts).toBe(3)
    expect(connects).toBe(0)
  })

  it('refuses a malformed retry option with VALIDATION', async () => {
    expect(() => makeTenantry(file.pool, { retry: { attempts: 0 } })).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    const scope = makeTenantry(file.pool).withContext({ tenantId: TENANT })
    await expect(scope.transaction(async () => 1, { retry: { attempts: 3, forever: true } as never })).rejects.toMatchObject({ code: 'VALIDATION' })
    // Nothing was sent: the audit trail is empty.
    const { rows } = await file.pool.query('select count(*)::int as n from tenantry.audit_logs')
    expect(rows[0].n).toBe(0)
  })
})

describe('errors of the statement itself, through the autocommit path', () => {
  it('still name the operation and the constraint (a unique violation of a single audited write)', async () => {
    await createHostTables(file.db)
    const tenantId = await insertTenant(file.db, 'error-model')
    const projects = makeTenantry(file.pool).withContext({ tenantId }).repo('projects')
    await projects.create({ name: 'Apollo', slug: 'apollo' })
    const error = await projects.create({ name: 'Apollo again', slug: 'apollo' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UNIQUE_VIOLATION', retryable: false, operation: 'projects.create', constraint: 'projects_tenant_slug_live_key' })
    expect((error as Error).message).toMatch(/^projects\.create: /)
    const { rows } = await file.pool.query("select outcome, error_code from tenantry.audit_logs where action = 'projects.create' order by created_at")
    expect(rows).toEqual([
      { outcome: 'success', error_code: null },
      { outcome: 'failure', error_code: 'UNIQUE_VIOLATION' },
    ])
  })
})

/** What a public call ended with: its rejection, or the `error` of a result that carries one. */
async function outcomeOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    const result = await call()
    return result && typeof result === 'object' && 'error' in result ? (result as { error: unknown }).error : result
  } catch (error) {
    return error
  }
}

describe('every public method on a server that refuses connections', () => {
  it('answers with a retryable TenantryError that holds no password, whichever entry point it is', async () => {
    const tenantry = makeTenantry(await refusingPool())
    // An actor, so `can` asks the database instead of answering false without SQL.
    const scope = tenantry.withContext({ tenantId: TENANT, actorId: TENANT })
    const system = tenantry.asSystem({ reason: 'refused-connection test' })
    const calls: Record<string, () => Promise<unknown>> = {
      'scope.db select': () => scope.db.selectFrom('projects').selectAll().execute(),
      'scope.db in a transaction': () => scope.transaction((tx) => tx.db.selectFrom('projects').selectAll().execute()),
      'auditLog.list': () => scope.auditLog.list(),
      'auditLog.record': () => scope.auditLog.record({ action: 'auth.login', resourceType: 'session' }),
      'auditLog.prune': () => scope.auditLog.prune({ olderThan: new Date() }),
      can: () => scope.can('projects:read'),
      'roles.findMany': () => scope.roles.findMany(),
      'invitations.list': () => scope.invitations.list(),
      'tenants.create': () => system.tenants.create({ slug: 'refused', name: 'Refused' }),
      'tokens.issue': () => tenantry.tokens.issue({ userId: TENANT }),
      'tokens.listSessions': () => tenantry.tokens.listSessions(TENANT),
      'tokens.prune': () => tenantry.tokens.prune(),
      'rls.status': () => tenantry.rls.status(),
      'rls.enable': () => tenantry.rls.enable(),
      migrate: () => tenantry.migrate(),
      lint: () => tenantry.lint(),
      'citus.status': () => tenantry.citus.status(),
    }
    const untyped: string[] = []
    for (const [name, call] of Object.entries(calls)) {
      const error = await outcomeOf(call)
      if (!(error instanceof TenantryError) || error.code !== 'RETRYABLE' || !error.retryable) {
        untyped.push(`${name}: ${error instanceof TenantryError ? error.code : String(error)}`)
        continue
      }
      expect(JSON.stringify(error) + error.message, name).not.toContain(PASSWORD)
    }
    expect(untyped).toEqual([])
  })
})
