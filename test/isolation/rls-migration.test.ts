import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, makeTenantry } from '../support/host-schema.js'

const fileDb = await useFileDatabase()

async function tenantryPolicies(): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname || ':' || p.polname as name from pg_policy p join pg_class c on c.oid = p.polrelid
     where p.polname like 'tenantry%' order by 1`.execute(fileDb.db)
  return rows.map((r) => r.name)
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
})

describe('migration 0004 (row-level security)', () => {
  it('creates inert policies: nothing is enabled by the migration itself', async () => {
    expect(await tenantryPolicies()).toEqual(expect.arrayContaining(['tenants:tenantry_tenant_isolation', 'roles:tenantry_system_roles_read']))
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_class where relrowsecurity`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(0)
  })

  it('goes down cleanly after rls enable, host tables included, and up again', async () => {
    const tenantry = makeTenantry(fileDb.pool)
    await tenantry.rls.enable()
    expect((await tenantry.rls.status()).state).toBe('enabled')
    const applied = await sql<{ name: string }>`select name from tenantry.tenantry_migration order by name`.execute(fileDb.db)
    const downTo = applied.rows.map((r) => r.name).filter((n) => n >= '0004')
    for (let i = 0; i < downTo.length; i++) {
      const { error } = await migrate({ pool: fileDb.pool, direction: 'down' })
      expect(error).toBeUndefined()
    }
    expect(await tenantryPolicies()).toEqual([])
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_class where relrowsecurity or relforcerowsecurity`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(0)
    const { error } = await migrate({ pool: fileDb.pool })
    expect(error).toBeUndefined()
    expect((await makeTenantry(fileDb.pool).rls.enable()).state).toBe('enabled')
  })
})
