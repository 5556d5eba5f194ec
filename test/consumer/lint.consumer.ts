import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { sql, type Generated } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase, type AppDB } from './support/consumer-database.js'

interface LintDB extends AppDB {
  notes: { id: Generated<string>; tenant_id: string; project_id: string; body: string }
}

const { url, pool } = await useConsumerDatabase()
const tenantry = createTenantry<LintDB>({
  pool,
  tables: {
    projects: defineTable<LintDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }),
    notes: defineTable<LintDB, 'notes'>({ table: 'notes' }),
  },
})

beforeAll(async () => {
  // A plain foreign key: tenant B's note may point at tenant A's project.
  await sql`create table notes (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants (id),
    project_id uuid not null references projects (id),
    body text not null
  )`.execute(tenantry.kysely)
  await sql`create index notes_tenant_idx on notes (tenant_id)`.execute(tenantry.kysely)
})

describe('schema lint, from the installed package', () => {
  it('tenantry.lint() reports the foreign key without the tenant column, with the composite key to use', async () => {
    const result = await tenantry.lint()
    const finding = result.findings.find((f) => f.code === 'FK_WITHOUT_TENANT' && f.table === 'public.notes')
    expect(finding?.fix).toContain('(tenant_id, project_id)')
    expect(result.ok).toBe(false)
  })

  it('npx tenantry lint exits 1 with the finding, reading DATABASE_URL', () => {
    const bin = join(process.cwd(), 'node_modules', '.bin', 'tenantry')
    const run = spawnSync(bin, ['lint', '--table', 'public.notes'], { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8' })
    expect(run.stdout + run.stderr).toContain('FK_WITHOUT_TENANT')
    expect(run.status).toBe(1)
  })
})
