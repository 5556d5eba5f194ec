import fc from 'fast-check'
import { beforeAll, describe, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry } from '../support/host-schema.js'
import { createAppRole } from './support/app-role.js'
import { leakHuntCommands, type LeakModel, type LeakReal } from './support/leak-hunt-commands.js'

/**
 * The leak hunt: random sequences of repository and scope.db operations by three tenants, aimed
 * at rows of every tenant, checked against an in-memory model after every step (reads return
 * exactly the tenant's rows; the whole table equals the model, so no write crossed a tenant).
 * fast-check shrinks a failure to a minimal sequence; rerun it with the printed seed and path.
 */
const fileDb = await useFileDatabase()
const tenants: string[] = []
const RUNS = Number(process.env.LEAK_HUNT_RUNS ?? 40)

beforeAll(async () => {
  await createHostTables(fileDb.db)
  for (const slug of ['hunt-a', 'hunt-b', 'hunt-c']) tenants.push(await insertTenant(fileDb.db, slug))
})

async function hunt(real: LeakReal): Promise<void> {
  const setup = async () => {
    await fileDb.db.deleteFrom('projects').execute()
    return { model: { rows: new Map() } as LeakModel, real }
  }
  await fc.assert(
    fc.asyncProperty(fc.commands(leakHuntCommands({ rawSql: real.rawSql }), { maxCommands: 30 }), (commands) => fc.asyncModelRun(setup, commands)),
    { numRuns: RUNS },
  )
}

describe('property: no cross-tenant reads or writes', () => {
  it('holds with query isolation alone (predicates only)', async () => {
    await hunt({ tenantry: makeTenantry(fileDb.pool), tenants, check: fileDb.db, rawSql: false })
  })

  it('holds with row-level security as a non-owner role, raw unfiltered SQL included', async () => {
    await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
    const role = await createAppRole(fileDb)
    const tenantry = makeTenantry(role.pool, { isolation: 'rls' })
    await hunt({ tenantry, tenants, check: fileDb.db, rawSql: true })
  })
})
