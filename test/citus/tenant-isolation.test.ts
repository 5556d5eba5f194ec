import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import type { Tenantry } from '../../src/index.js'
import { citusSkipReason, startCitusCluster, type CitusCluster } from '../support/citus-cluster.js'
import { STRICT } from '../support/citus-strict-pool.js'
import { createHostTables, makeTenantry, type AppDB } from '../support/host-schema.js'
import { tenantIsolationCases } from '../support/tenant-isolation-cases.js'

/**
 * The tenant-isolation cases of one node (`test/repository/tenant-isolation.test.ts`) on a Citus
 * cluster: the host tables of `host-schema.ts` with keys that hold the tenant column, distributed
 * by it, and the repositories over connections on which any multi-shard task or intermediate
 * result is an error.
 */

const skip = citusSkipReason('test/citus/tenant-isolation.test.ts')

describe.skipIf(skip !== null)('tenant isolation conformance on a Citus cluster: tenant A against tenant B rows', () => {
  let cluster: CitusCluster
  let db: Kysely<any>
  let strictPool: pg.Pool
  let tenantry: Tenantry<AppDB>
  let tenantA: string
  let tenantB: string

  beforeAll(async () => {
    cluster = await startCitusCluster()
    const plainPool = new pg.Pool({ connectionString: cluster.url, max: 2 })
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool: plainPool }) })
    const admin = makeTenantry(plainPool)
    const { error } = await admin.migrate()
    if (error) throw error
    // host-schema.ts's tables, with the tenant column in every key (Citus needs it there)
    await createHostTables(db)
    await sql`
      alter table projects drop constraint projects_pkey, add primary key (tenant_id, id);
      alter table devices drop constraint devices_pkey, add primary key (tenant_id, id);
      alter table notes drop constraint notes_pkey, add primary key (tenant_id, id);`.execute(db)
    const system = admin.asSystem({ reason: 'citus tenant isolation' })
    tenantA = (await system.tenants.create({ slug: 'tenant-a', name: 'Tenant A' })).id
    tenantB = (await system.tenants.create({ slug: 'tenant-b', name: 'Tenant B' })).id
    await admin.citus.distribute()
    strictPool = new pg.Pool({ connectionString: cluster.url, max: 4, options: STRICT })
    tenantry = makeTenantry(strictPool)
    await tenantry.ready()
  }, 240_000)

  afterAll(async () => {
    await strictPool?.end()
    await db?.destroy()
    await cluster?.stop()
  }, 60_000)

  // reads and resets go through `db` (ordinary connections: a reset deletes from every shard)
  tenantIsolationCases(() => ({ tenantry, db, tenantA, tenantB }))
})
