import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

/**
 * `create` compiles its statement once per table and shape and afterwards only binds values: every
 * call must still write its own tenant, values and request context, never those of the call that
 * compiled the statement.
 */

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
const tenants: string[] = []

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenants.push(await insertTenant(fileDb.db, 'compiled-a'), await insertTenant(fileDb.db, 'compiled-b'))
  tenantry = makeTenantry(fileDb.pool)
})

describe('a create compiled once per shape', () => {
  it('writes each call its own tenant, values (json and null included) and audit context', async () => {
    const calls = Array.from({ length: 6 }, (_, i) => ({
      tenantId: tenants[i % 2]!,
      actorId: randomUUID(),
      ip: `203.0.113.${i + 1}`,
      userAgent: `agent-${i}`,
      requestId: `request-${i}`,
      input: { name: `same shape ${i}`, budget: i % 3 === 0 ? null : i * 10, tags: i % 2 === 0 ? { call: i, list: [i] } : {} },
    }))
    const created: { id: string }[] = []
    for (const { input, ...context } of calls) created.push(await tenantry.withContext(context).repo('projects').create(input))
    const ids = created.map((r) => r.id)
    const rows = await fileDb.db.selectFrom('projects').select(['id', 'tenant_id', 'name', 'budget', 'tags']).where('id', 'in', ids).execute()
    const audits = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['resource_id', 'tenant_id', 'actor_user_id', 'ip', 'user_agent', 'request_id', 'new_values'])
      .where('resource_id', 'in', ids)
      .execute()
    calls.forEach((call, i) => {
      const id = created[i]!.id
      expect(rows.find((r) => r.id === id)).toEqual({ id, tenant_id: call.tenantId, ...call.input })
      expect(audits.filter((a) => a.resource_id === id)).toEqual([
        {
          resource_id: id,
          tenant_id: call.tenantId,
          actor_user_id: call.actorId,
          ip: call.ip,
          user_agent: call.userAgent,
          request_id: call.requestId,
          new_values: expect.objectContaining({ name: call.input.name, tenant_id: call.tenantId }),
        },
      ])
    })
  })

  it('keeps a context without actor, ip or request id as nulls, and a system scope separate', async () => {
    await tenantry
      .withContext({ tenantId: tenants[0]!, actorId: randomUUID(), ip: '198.51.100.1', requestId: 'first' })
      .repo('projects')
      .create({ name: 'full context' })
    const bare = await tenantry.withContext({ tenantId: tenants[1]! }).repo('projects').create({ name: 'bare context' })
    const system = await tenantry.asSystem({ reason: 'import job' }).repo('projects').create({ name: 'by the system', tenant_id: tenants[1]! })
    const audits = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['resource_id', 'tenant_id', 'actor_user_id', 'ip', 'request_id', 'metadata'])
      .where('resource_id', 'in', [bare.id, system.id])
      .orderBy('created_at')
      .execute()
    expect(audits).toEqual([
      { resource_id: bare.id, tenant_id: tenants[1], actor_user_id: null, ip: null, request_id: null, metadata: {} },
      { resource_id: system.id, tenant_id: tenants[1], actor_user_id: null, ip: null, request_id: null, metadata: { system: true, reason: 'import job' } },
    ])
  })
})

describe('an update by id compiled once per shape', () => {
  it("writes each call's own row, tenant, values (json and null included) and audit context, and never another tenant's row", async () => {
    const seeded: { id: string; tenantId: string }[] = []
    for (let i = 0; i < 6; i++) {
      const tenantId = tenants[i % 2]!
      const row = await tenantry
        .withContext({ tenantId })
        .repo('projects')
        .create({ name: `to update ${i}`, budget: 1 })
      seeded.push({ id: row.id, tenantId })
    }
    const calls = seeded.map(({ id, tenantId }, i) => ({
      id,
      tenantId,
      actorId: randomUUID(),
      ip: `203.0.113.${i + 10}`,
      userAgent: `agent-${i}`,
      requestId: `update-${i}`,
      patch: { name: `updated ${i}`, budget: i % 3 === 0 ? null : i * 10, tags: i % 2 === 0 ? { call: i, list: [i] } : {} },
    }))
    for (const { id, patch, ...context } of calls) await tenantry.withContext(context).repo('projects').update(id, patch)
    // The same shape from the other tenant: the compiled statement binds this call's tenant, so it finds nothing.
    for (const { id, tenantId } of seeded) {
      const other = tenants.find((t) => t !== tenantId)!
      await expect(tenantry.withContext({ tenantId: other }).repo('projects').update(id, { name: 'stolen', budget: 0, tags: {} })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
    }
    const ids = calls.map((c) => c.id)
    const rows = await fileDb.db.selectFrom('projects').select(['id', 'tenant_id', 'name', 'budget', 'tags']).where('id', 'in', ids).execute()
    const audits = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['resource_id', 'tenant_id', 'actor_user_id', 'ip', 'user_agent', 'request_id', 'new_values', 'changed_fields'])
      .where('resource_id', 'in', ids)
      .where('action', '=', 'projects.update')
      .where('request_id', 'like', 'update-%')
      .execute()
    calls.forEach((call, i) => {
      expect(rows.find((r) => r.id === call.id)).toEqual({ id: call.id, tenant_id: call.tenantId, ...call.patch })
      expect(audits.filter((a) => a.resource_id === call.id)).toEqual([
        {
          resource_id: call.id,
          tenant_id: call.tenantId,
          actor_user_id: call.actorId,
          ip: call.ip,
          user_agent: call.userAgent,
          request_id: call.requestId,
          new_values: expect.objectContaining({ name: call.patch.name, tenant_id: call.tenantId, budget: call.patch.budget }),
          // Every budget moves off 1; tags change only where the patch sets a non-empty object.
          changed_fields: i % 2 === 0 ? ['budget', 'name', 'tags'] : ['budget', 'name'],
        },
      ])
    })
  })
})

describe('softDelete and restore by id compiled once per shape', () => {
  it("change each call's own row with its own audit context, and never another tenant's row", async () => {
    const seeded: { id: string; tenantId: string }[] = []
    for (let i = 0; i < 4; i++) {
      const tenantId = tenants[i % 2]!
      seeded.push({
        id: (
          await tenantry
            .withContext({ tenantId })
            .repo('projects')
            .create({ name: `to delete ${i}` })
        ).id,
        tenantId,
      })
    }
    const ids = seeded.map((s) => s.id)
    for (const { id, tenantId } of seeded) {
      const other = tenants.find((t) => t !== tenantId)!
      await expect(tenantry.withContext({ tenantId: other }).repo('projects').softDelete(id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    for (const [i, { id, tenantId }] of seeded.entries()) {
      await tenantry
        .withContext({ tenantId, requestId: `delete-${i}` })
        .repo('projects')
        .softDelete(id)
    }
    for (const { id, tenantId } of seeded) {
      const other = tenants.find((t) => t !== tenantId)!
      await expect(tenantry.withContext({ tenantId: other }).repo('projects').restore(id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    }
    const deleted = await fileDb.db.selectFrom('projects').select(['id', 'tenant_id']).where('id', 'in', ids).where('deleted_at', 'is not', null).execute()
    expect(deleted).toHaveLength(4)
    for (const [i, { id, tenantId }] of seeded.entries()) {
      if (i % 2 === 0)
        await tenantry
          .withContext({ tenantId, requestId: `restore-${i}` })
          .repo('projects')
          .restore(id)
    }
    const rows = await fileDb.db.selectFrom('projects').select(['id', 'tenant_id', 'deleted_at']).where('id', 'in', ids).execute()
    const audits = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['resource_id', 'tenant_id', 'action', 'request_id'])
      .where('resource_id', 'in', ids)
      .where('action', 'in', ['projects.softDelete', 'projects.restore'])
      .where('outcome', '=', 'success')
      .orderBy('created_at')
      .execute()
    seeded.forEach(({ id, tenantId }, i) => {
      const row = rows.find((r) => r.id === id)!
      expect(row.tenant_id).toBe(tenantId)
      expect(row.deleted_at === null).toBe(i % 2 === 0)
      expect(audits.filter((a) => a.resource_id === id).map((a) => [a.tenant_id, a.request_id])).toEqual([
        [tenantId, `delete-${i}`],
        ...(i % 2 === 0 ? [[tenantId, `restore-${i}`]] : []),
      ])
    })
  })
})
