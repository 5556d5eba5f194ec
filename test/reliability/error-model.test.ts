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
