import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { useConsumerDatabase, type AppDB } from './support/consumer-database.js'

// `require` resolves the package's "require" condition: dist/*.cjs, what a CommonJS host loads.
const require = createRequire(import.meta.url)
const cjs = require('tenantry') as typeof import('tenantry')
const cjsTesting = require('tenantry/testing') as typeof import('tenantry/testing')

const { pool, tenantId } = await useConsumerDatabase()

describe('the CommonJS build, from the installed package', () => {
  it('loads from .cjs files with the public surface', () => {
    expect(require.resolve('tenantry')).toMatch(/dist[/\\]index\.cjs$/)
    expect(require.resolve('tenantry/testing')).toMatch(/dist[/\\]testing[/\\]index\.cjs$/)
    expect(typeof cjs.createTenantry).toBe('function')
    expect(typeof cjs.defineTable).toBe('function')
    expect(typeof cjsTesting.startTestDatabase).toBe('function')
  })

  it('writes and reads through a tenantry created from the CommonJS build', async () => {
    const tenantry = cjs.createTenantry<AppDB>({
      pool,
      tables: { projects: cjs.defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
    })
    const repo = tenantry.withContext({ tenantId }).repo('projects')
    const created = await repo.create({ name: 'Required' })
    expect(await repo.findById(created.id)).toMatchObject({ name: 'Required' })
    const { rows } = await pool.query('select tenant_id from projects where id = $1', [created.id])
    expect(rows).toEqual([{ tenant_id: tenantId }])
  })
})
