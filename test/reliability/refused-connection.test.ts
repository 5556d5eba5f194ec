import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { TenantryError } from '../../src/errors/tenantry-error.js'
import { freePort } from '../../src/testing/free-port.js'
import { makeTenantry } from '../support/host-schema.js'

const PASSWORD = 'correct-horse-battery-staple'
const TENANT = '00000000-0000-4000-8000-000000000001'
const pools: pg.Pool[] = []
afterAll(async () => {
  await Promise.allSettled(pools.map((pool) => pool.end()))
})

async function refusingTenantry() {
  const pool = new pg.Pool({ connectionString: `postgres://app:${PASSWORD}@127.0.0.1:${await freePort()}/app`, max: 2 })
  pools.push(pool)
  return makeTenantry(pool)
}

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
    const tenantry = await refusingTenantry()
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
