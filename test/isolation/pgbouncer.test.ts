import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { createAppRole, type AppRole } from './support/app-role.js'
import { findPgbouncer, startPgbouncer, type RunningPgbouncer } from './support/pgbouncer.js'

const binary = findPgbouncer()
const missingMessage = 'no pgbouncer binary (apt-get install -y pgbouncer, or set PGBOUNCER_BIN)'
// Locally a missing binary skips this file; under CI it is a failure, so a green CI run always includes it.
const underCi = process.env.CI === 'true' || process.env.CI === '1'
if (!binary && !underCi) console.warn(`test/isolation/pgbouncer.test.ts skipped: ${missingMessage}`)

describe.runIf(!binary && underCi)('behind PgBouncer (CI)', () => {
  it('has a pgbouncer binary to test against', () => {
    expect.fail(`CI=true but ${missingMessage}`)
  })
})

const TENANTS = 6
const REQUESTS = 120

// With a pipelining pool too: BEGIN with the context, the statement and COMMIT share one flight,
// and PgBouncer must still keep each transaction on one server connection.
describe.skipIf(!binary).each([{ pipeline: false }, { pipeline: true }])(
  'behind PgBouncer in transaction pooling mode (default_pool_size=2, pipeline: $pipeline)',
  async ({ pipeline }) => {
    const fileDb = await useFileDatabase()
    let role: AppRole
    let bouncer: RunningPgbouncer
    let pool: pg.Pool
    let tenantry: Tenantry<AppDB>
    const tenants: string[] = []

    beforeAll(async () => {
      await createHostTables(fileDb.db)
      for (let i = 0; i < TENANTS; i++) tenants.push(await insertTenant(fileDb.db, `bouncer-${i}`))
      await fileDb.db
        .insertInto('projects')
        .values(
          tenants.flatMap((t, i) => [
            { tenant_id: t, name: `seed-${i}-a` },
            { tenant_id: t, name: `seed-${i}-b` },
          ]),
        )
        .execute()
      await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
      role = await createAppRole(fileDb)
      const server = new URL(inject('testServerUrl'))
      bouncer = await startPgbouncer({
        binary: binary!,
        serverHost: server.hostname,
        serverPort: Number(server.port || 5432),
        users: [{ name: role.name, password: role.password }],
        defaultPoolSize: 2,
      })
      // Many client connections, few server connections: every request lands on a shared one.
      pool = new pg.Pool({ host: '127.0.0.1', port: bouncer.port, user: role.name, password: role.password, database: fileDb.name, max: 24, pipeline })
      pool.on('error', () => {})
      tenantry = makeTenantry(pool, { isolation: 'rls' })
    })

    afterAll(async () => {
      await pool?.end()
      await bouncer?.stop()
    })

    /** One request: reads through the repository and scope.db, a transaction that writes and reads back. */
    async function request(tenantId: string, n: number): Promise<string[]> {
      const scope = tenantry.withContext({ tenantId })
      const seen: string[] = []
      const rows = await scope.repo('projects').findMany({ limit: 1000 })
      seen.push(...rows.map((r) => r.tenant_id))
      const viaDb = await scope.db.selectFrom('projects').select('tenant_id').execute()
      seen.push(...viaDb.map((r) => r.tenant_id))
      await scope.transaction(async (tx) => {
        const created = await tx.repo('projects').create({ name: `req-${n}` })
        seen.push(created.tenant_id)
        // A second statement on the same server connection, later in the transaction.
        const again = await tx.db.selectFrom('projects').select('tenant_id').execute()
        seen.push(...again.map((r) => r.tenant_id))
      })
      return seen
    }

    it('never shows one tenant the rows of another under concurrent load', async () => {
      const results = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, n) => {
          const tenantId = tenants[n % TENANTS]!
          return { tenantId, seen: await request(tenantId, n) }
        }),
      )
      for (const { tenantId, seen } of results) {
        expect(seen.length).toBeGreaterThan(0)
        expect(seen.filter((t) => t !== tenantId)).toEqual([])
      }
      // Every request's write landed in its own tenant.
      const created = await fileDb.db.selectFrom('projects').select(['tenant_id', 'name']).where('name', 'like', 'req-%').execute()
      expect(created).toHaveLength(REQUESTS)
      for (const row of created) expect(row.tenant_id).toBe(tenants[Number(row.name.slice(4)) % TENANTS])
    })

    it('ran over at most two server connections, which keep no tenant context between transactions', async () => {
      const server = await fileDb.db
        .selectFrom('pg_stat_activity')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('usename', '=', role.name)
        .where('datname', '=', fileDb.name)
        .executeTakeFirstOrThrow()
      expect(Number(server.n)).toBeLessThanOrEqual(2)
      const { rows } = await pool.query(
        "select current_setting('tenantry.tenant_id', true) as tenant, current_setting('tenantry.system', true) as system, (select count(*) from projects)::int as visible",
      )
      expect(rows[0].tenant ?? '').toBe('')
      expect(rows[0].system ?? '').toBe('')
      expect(rows[0].visible).toBe(0)
    })
  },
)
