import { randomUUID } from 'node:crypto'
import { isTenantryError, TenantryError } from 'tenantry'
import { describe, expect, it } from 'vitest'
import { useConsumerDatabase } from './support/consumer-database.js'

const { pool, tenantry, tenantId } = await useConsumerDatabase()

describe('errors, from the installed package', () => {
  it("answers another tenant's row as NOT_FOUND with a TenantryError, and leaves it as it was", async () => {
    const other = await tenantry.asSystem({ reason: 'consumer check' }).tenants.create({ slug: 'globex', name: 'Globex' })
    const theirs = await tenantry.withContext({ tenantId: other.id }).repo('projects').create({ name: 'Theirs' })
    const error = await tenantry
      .withContext({ tenantId, actorId: randomUUID() })
      .repo('projects')
      .update(theirs.id, { name: 'Mine now' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TenantryError)
    expect(isTenantryError(error) && error.code).toBe('NOT_FOUND')
    const { rows } = await pool.query('select name, tenant_id from projects where id = $1', [theirs.id])
    expect(rows).toEqual([{ name: 'Theirs', tenant_id: other.id }])
  })

  it('refuses a malformed tenant id before any SQL is sent', () => {
    expect(() => tenantry.withContext({ tenantId: 'not-a-uuid' })).toThrow(TenantryError)
  })
})
