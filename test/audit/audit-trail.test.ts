import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { defineTable, isTenantryError, veto, type AuditEvent, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string
const actorId = randomUUID()
const context = () => ({ tenantId, actorId, ip: '203.0.113.7', userAgent: 'vitest/1.0', requestId: 'req-42' })

async function auditRows(where: { resourceId?: string; action?: string } = {}) {
  let query = fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('tenant_id', '=', tenantId)
  if (where.resourceId) query = query.where('resource_id', '=', where.resourceId)
  if (where.action) query = query.where('action', '=', where.action)
  return query.orderBy('created_at').orderBy('action').execute()
}

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'audited')
  tenantry = makeTenantry(fileDb.pool, { audit: { redact: ['budget'] } })
})

const projects = () => tenantry.withContext(context()).repo('projects')

describe('an audit row for every write', () => {
  it('records create, update, softDelete, restore and purge with old and new values and the context', async () => {
    const row = await projects().create({ name: 'Apollo', slug: 'apollo' })
    await projects().update(row.id, { name: 'Artemis' })
    await projects().softDelete(row.id)
    await projects().restore(row.id)
    await projects().purge(row.id)
    const rows = await auditRows({ resourceId: row.id })
    expect(rows.map((r) => r.action)).toEqual(['projects.create', 'projects.update', 'projects.softDelete', 'projects.restore', 'projects.purge'])
    for (const r of rows) {
      expect(r).toMatchObject({
        tenant_id: tenantId,
        actor_user_id: actorId,
        resource_type: 'projects',
        resource_id: row.id,
        ip: '203.0.113.7',
        user_agent: 'vitest/1.0',
        request_id: 'req-42',
        outcome: 'success',
        error_code: null,
      })
    }
    const [create, update, softDelete, , purge] = rows
    expect(create!.old_values).toBeNull()
    expect(create!.new_values).toMatchObject({ name: 'Apollo', slug: 'apollo', tenant_id: tenantId })
    expect(update!.old_values).toMatchObject({ name: 'Apollo' })
    expect(update!.new_values).toMatchObject({ name: 'Artemis' })
    expect(update!.changed_fields).toEqual(['name'])
    expect(softDelete!.changed_fields).toEqual(['deleted_at'])
    expect(purge!.old_values).toMatchObject({ name: 'Artemis' })
    expect(purge!.new_values).toBeNull()
  })

  it('writes one audit row per affected record for bulk writes', async () => {
    const created = await projects().createMany([{ name: 'bulk-1' }, { name: 'bulk-2' }, { name: 'bulk-3' }])
    const ids = created.map((r) => r.id)
    expect(await projects().updateMany({ id: ids }, { status: 'paused' })).toEqual({ count: 3 })
    expect(await projects().softDeleteMany({ id: ids })).toEqual({ count: 3 })
    const rows = await fileDb.db.selectFrom('tenantry.audit_logs').select(['action', 'resource_id']).where('resource_id', 'in', ids).execute()
    const count = (action: string) => rows.filter((r) => r.action === action).length
    expect(count('projects.create')).toBe(3)
    expect(count('projects.update')).toBe(3)
    expect(count('projects.softDelete')).toBe(3)
    expect(new Set(rows.filter((r) => r.action === 'projects.update').map((r) => r.resource_id))).toEqual(new Set(ids))
  })

  it('audits the built-in tables on the same machinery', async () => {
    const system = tenantry.asSystem({ actorId, reason: 'onboarding' })
    const user = await system.users.create({ email: `u-${randomUUID()}@example.com`, password_hash: 'argon2-hash-value' })
    const membership = await system.memberships.create({ tenant_id: tenantId, user_id: user.id })
    const rows = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', 'in', [user.id, membership.id]).orderBy('action').execute()
    expect(rows.map((r) => r.action)).toEqual(['memberships.create', 'users.create'])
    expect(rows.find((r) => r.action === 'memberships.create')).toMatchObject({ tenant_id: tenantId, metadata: { system: true, reason: 'onboarding' } })
    expect(JSON.stringify(rows)).not.toContain('argon2-hash-value')
  })
})

describe('redaction', () => {
  it('keeps globally redacted and per-table excluded columns out of audit_logs and the sink', async () => {
    const events: AuditEvent[] = []
    const withSink = makeTenantry(fileDb.pool, { audit: { redact: ['budget'], sink: (e) => void events.push(...e) } })
    const repo = withSink.withContext(context()).repo('projects')
    const row = await repo.create({ name: 'classified', secret: 'hunter2-top-secret', budget: 7_654_321 })
    await repo.update(row.id, { secret: 'hunter3-top-secret', budget: 1_234_567 })
    await repo.purge(row.id)
    const { rows } = await sql<{ text: string }>`select string_agg(a::text, '\n') as text from tenantry.audit_logs a`.execute(fileDb.db)
    for (const secret of ['hunter2-top-secret', 'hunter3-top-secret', '7654321', '1234567']) {
      expect(rows[0]!.text).not.toContain(secret)
      expect(JSON.stringify(events)).not.toContain(secret)
    }
    expect(events.map((e) => e.action)).toEqual(['projects.create', 'projects.update', 'projects.purge'])
    expect(events[1]!.changedFields).toEqual(['budget', 'secret'])
  })
})

describe('failures', () => {
  it('leaves a failure row with the error code when a write fails, and no success row', async () => {
    await projects().create({ name: 'dup-1', slug: 'dup' })
    const error = await projects()
      .create({ name: 'dup-2', slug: 'dup' })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    const rows = await auditRows({ action: 'projects.create' })
    const failure = rows.filter((r) => r.outcome === 'failure')
    expect(failure).toHaveLength(1)
    expect(failure[0]).toMatchObject({ error_code: 'UNIQUE_VIOLATION', actor_user_id: actorId, request_id: 'req-42' })
    expect(rows.filter((r) => r.outcome === 'success' && (r.new_values as { name?: string } | null)?.name === 'dup-2')).toEqual([])
  })

  it('keeps the failure row of a rolled-back transaction and drops its success rows', async () => {
    const scope = tenantry.withContext(context())
    const marker = `tx-${randomUUID()}`
    const error = await scope
      .transaction(async (tx) => {
        await tx.repo('projects').create({ name: marker, slug: 'tx-dup' })
        await tx.repo('projects').create({ name: marker, slug: 'tx-dup' })
      })
      .catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    expect(await fileDb.db.selectFrom('projects').select('id').where('name', '=', marker).execute()).toEqual([])
    const { rows } = await sql<{ outcome: string }>`select outcome from tenantry.audit_logs
      where action = 'projects.create' and (new_values ->> 'name' = ${marker} or (outcome = 'failure' and created_at > now() - interval '1 minute'))`.execute(
      fileDb.db,
    )
    expect(rows.filter((r) => r.outcome === 'success')).toEqual([])
    expect(rows.filter((r) => r.outcome === 'failure').length).toBeGreaterThanOrEqual(1)
  })
})

describe('hooks', () => {
  it('run inside the transaction with the context, may rewrite input, and may veto', async () => {
    const seen: string[] = []
    const hooked = makeTenantry(fileDb.pool, {
      tables: {
        ...appTables,
        projects: defineTable<AppDB, 'projects'>({
          ...appTables.projects,
          hooks: {
            beforeCreate: (input, { context }) => {
              seen.push(`beforeCreate:${context?.requestId}`)
              if (input.name === 'forbidden') veto('name is reserved')
              return { ...input, name: input.name.trim() }
            },
            afterUpdate: async (rows, { tx }) => {
              seen.push(`afterUpdate:${rows.length}`)
              if (rows[0]?.name === 'explode') throw new Error('afterUpdate failed')
              await tx.repo('notes').create({ body: `updated ${rows[0]?.id}` })
            },
          },
        }),
      },
    })
    const repo = hooked.withContext(context()).repo('projects')
    const row = await repo.create({ name: '  padded  ' })
    expect(row.name).toBe('padded')

    const vetoed = await repo.create({ name: 'forbidden' }).catch((e: unknown) => e)
    expect(isTenantryError(vetoed, 'FORBIDDEN')).toBe(true)
    expect(await fileDb.db.selectFrom('projects').select('id').where('name', '=', 'forbidden').execute()).toEqual([])
    const vetoAudit = await auditRows({ action: 'projects.create' })
    expect(vetoAudit.some((r) => r.outcome === 'failure' && r.error_code === 'FORBIDDEN')).toBe(true)

    await repo.update(row.id, { name: 'renamed' })
    expect(await fileDb.db.selectFrom('notes').select('body').where('body', '=', `updated ${row.id}`).execute()).toHaveLength(1)

    await expect(repo.update(row.id, { name: 'explode' })).rejects.toThrow('afterUpdate failed')
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe('renamed')
    expect(seen).toEqual(['beforeCreate:req-42', 'beforeCreate:req-42', 'afterUpdate:1', 'afterUpdate:1'])
  })
})

describe('sink', () => {
  it('receives events only after commit, and none from a rolled-back transaction', async () => {
    const batches: AuditEvent[][] = []
    const withSink = makeTenantry(fileDb.pool, { audit: { sink: (e) => void batches.push(e) } })
    const scope = withSink.withContext(context())
    await scope.transaction(async (tx) => {
      await tx.repo('projects').create({ name: 'sink-1' })
      await tx.repo('projects').create({ name: 'sink-2' })
      expect(batches).toEqual([])
    })
    expect(batches).toHaveLength(1)
    expect(batches[0]!.map((e) => e.newValues?.name)).toEqual(['sink-1', 'sink-2'])

    await scope
      .transaction(async (tx) => {
        await tx.repo('projects').create({ name: 'sink-rolled-back' })
        throw new Error('abort')
      })
      .catch(() => {})
    expect(batches.flat().some((e) => e.newValues?.name === 'sink-rolled-back')).toBe(false)
  })

  it('never loses or undoes a write when the sink fails', async () => {
    const reported: unknown[] = []
    const failing = makeTenantry(fileDb.pool, {
      audit: {
        sink: () => {
          throw new Error('SIEM is down')
        },
        onSinkError: (error) => reported.push(error),
      },
    })
    const row = await failing.withContext(context()).repo('projects').create({ name: 'survives-sink' })
    expect(await fileDb.db.selectFrom('projects').select('id').where('id', '=', row.id).execute()).toHaveLength(1)
    expect(await auditRows({ resourceId: row.id })).toHaveLength(1)
    expect(reported).toHaveLength(1)
  })
})

describe('scope.auditLog', () => {
  it('lists by resource, actor, action and time range in keyset pages, newest first', async () => {
    const row = await projects().create({ name: 'listed' })
    for (let i = 0; i < 4; i++) await projects().update(row.id, { name: `listed-${i}` })
    const log = tenantry.withContext(context()).auditLog
    const first = await log.list({ resourceType: 'projects', resourceId: row.id, limit: 3 })
    expect(first.items.map((e) => e.action)).toEqual(['projects.update', 'projects.update', 'projects.update'])
    const second = await log.list({ resourceType: 'projects', resourceId: row.id, limit: 3, after: first.nextCursor })
    expect(second.items.map((e) => e.action)).toEqual(['projects.update', 'projects.create'])
    expect(second.nextCursor).toBeNull()
    expect((await log.list({ actorId, action: 'projects.create', from: new Date(Date.now() - 60_000) })).items.length).toBeGreaterThan(0)
    expect((await log.list({ resourceId: row.id, to: new Date(Date.now() - 3_600_000) })).items).toEqual([])
    const otherTenant = await insertTenant(fileDb.db, 'audit-other')
    expect((await tenantry.withContext({ tenantId: otherTenant }).auditLog.list({ resourceId: row.id })).items).toEqual([])
  })

  it('records custom events with the context', async () => {
    const event = await tenantry.withContext(context()).auditLog.record({ action: 'auth.login', metadata: { method: 'password' } })
    const stored = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('id', '=', event.id!).executeTakeFirstOrThrow()
    expect(stored).toMatchObject({ action: 'auth.login', actor_user_id: actorId, ip: '203.0.113.7', metadata: { method: 'password' } })
  })

  it('is append-only: an UPDATE or DELETE outside retention is refused', async () => {
    await expect(sql`update tenantry.audit_logs set action = 'x'`.execute(fileDb.db)).rejects.toThrow(/append-only/)
    await expect(sql`delete from tenantry.audit_logs`.execute(fileDb.db)).rejects.toThrow(/append-only/)
  })

  it('prunes old rows of its own tenant in batches', async () => {
    const other = await insertTenant(fileDb.db, 'prune-other')
    await sql`insert into tenantry.audit_logs (tenant_id, action, created_at)
      select t, 'old.event', now() - interval '400 days' from unnest(array[${tenantId}::uuid, ${other}::uuid]) t, generate_series(1, 25)`.execute(fileDb.db)
    const deleted = await tenantry.withContext(context()).auditLog.prune({ olderThan: '365d', batchSize: 10 })
    expect(deleted).toBe(25)
    const { rows } = await sql<{ tenant_id: string; n: string }>`select tenant_id, count(*) as n from tenantry.audit_logs
      where action = 'old.event' group by tenant_id`.execute(fileDb.db)
    expect(rows).toEqual([{ tenant_id: other, n: '25' }])
  })
})

describe('failures inside scope.transaction on a pool of one connection', () => {
  it('writes the failure row after the transaction ends instead of waiting for a second connection', async () => {
    const pg = await import('pg')
    const single = new pg.default.Pool({ connectionString: fileDb.url, max: 1 })
    try {
      const tiny = makeTenantry(single)
      const scope = tiny.withContext(context())
      const marker = `single-${randomUUID()}`
      const error = await scope
        .transaction(async (tx) => {
          await tx.repo('projects').create({ name: marker, slug: marker })
          await tx.repo('projects').create({ name: marker, slug: marker })
        })
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
      const failures = await fileDb.db
        .selectFrom('tenantry.audit_logs')
        .select('error_code')
        .where('outcome', '=', 'failure')
        .where('request_id', '=', 'req-42')
        .where('created_at', '>', new Date(Date.now() - 10_000))
        .execute()
      expect(failures.some((f) => f.error_code === 'UNIQUE_VIOLATION')).toBe(true)
      expect(await fileDb.db.selectFrom('projects').select('id').where('name', '=', marker).execute()).toEqual([])
    } finally {
      await single.end()
    }
  })
})
