import { beforeAll, describe, expect, it } from 'vitest'
import type { Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { tenantIsolationCases } from '../support/tenant-isolation-cases.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'tenant-a')
  tenantB = await insertTenant(fileDb.db, 'tenant-b')
  tenantry = makeTenantry(fileDb.pool)
})

// The same cases run on a Citus cluster in test/citus/tenant-isolation.test.ts.
describe('tenant isolation conformance: tenant A against tenant B rows', () => {
  tenantIsolationCases(() => ({ tenantry, db: fileDb.db, tenantA, tenantB }))
})

describe('context', () => {
  it('refuses a missing context before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    for (const bad of [undefined, null, {}, { tenantId: '' }, { tenantId: null }]) {
      expect(() => tenantry.withContext(bad as never)).toThrow(expect.objectContaining({ code: 'CONTEXT_MISSING' }))
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('refuses a malformed tenant id or extra keys before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    for (const bad of [
      { tenantId: 'tenant-a' },
      { tenantId: `${tenantA}' or 1=1 --` },
      { tenantId: tenantA, tenant: 'x' },
      { tenantId: tenantA, ip: 'nope' },
    ]) {
      expect(() => tenantry.withContext(bad as never)).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    }
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('refuses an unknown table before any SQL is sent', async () => {
    fileDb.roundTrips.reset()
    expect(() => tenantry.withContext({ tenantId: tenantA }).repo('nope' as never)).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
    expect(fileDb.roundTrips.count).toBe(0)
  })

  it('requires a reason for a system scope', () => {
    expect(() => tenantry.asSystem({ reason: '' })).toThrow(expect.objectContaining({ code: 'VALIDATION' }))
  })
})
