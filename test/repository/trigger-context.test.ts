import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, isTenantryError, type Tenantry } from '../../src/index.js'
import { countingPool } from '../support/counting-pool.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant } from '../support/host-schema.js'
import { createTicketTable, stamp, ticketTable, type TriggerDB } from '../support/trigger-context.js'

/** `triggerContext: true`: host triggers read the scope's context settings in query mode. */

const fileDb = await useFileDatabase()
const actorId = randomUUID()
let withContext: Tenantry<TriggerDB>
let without: Tenantry<TriggerDB>
let tenantId: string

const make = (options: { triggerContext?: boolean } = {}) =>
  createTenantry<TriggerDB>({ pool: fileDb.pool, tables: { ...appTables, tickets: ticketTable } as never, ...options })

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createTicketTable(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'trigger-context')
  withContext = make({ triggerContext: true })
  without = make()
  await withContext.ready()
  await without.ready()
})

describe("triggerContext in isolation 'query'", () => {
  it('lets a host trigger read the actor and tenant on every repository write', async () => {
    const tickets = withContext.withContext({ tenantId, actorId, requestId: 'req-7' }).repo('tickets')
    const expected = { touched_by: actorId, touched_in_tenant: tenantId, touched_by_system: null, touched_request: 'req-7' }
    const created = await tickets.create({ title: 'one' })
    expect(await stamp(fileDb.db, created.id)).toEqual({ title: 'one', ...expected })
    const [a, b] = await tickets.createMany([{ title: 'two' }, { title: 'three' }])
    expect(await stamp(fileDb.db, b!.id)).toEqual({ title: 'three', ...expected })

    const other = randomUUID()
    const asOther = withContext.withContext({ tenantId, actorId: other }).repo('tickets')
    await asOther.update(created.id, { title: 'one-b' })
    expect(await stamp(fileDb.db, created.id)).toMatchObject({ title: 'one-b', touched_by: other })
    await asOther.updateMany({ id: [a!.id, b!.id] }, { title: 'many' })
    expect(await stamp(fileDb.db, a!.id)).toMatchObject({ title: 'many', touched_by: other })
    await tickets.softDelete(a!.id)
    expect(await stamp(fileDb.db, a!.id)).toMatchObject({ touched_by: actorId })
  })

  it('costs BEGIN with the settings and COMMIT around a single-statement write, nothing on a read or a transaction', async () => {
    const scope = withContext.withContext({ tenantId, actorId })
    const tickets = scope.repo('tickets')
    const row = await tickets.create({ title: 'trips' })
    const trips = {
      create: await fileDb.roundTrips.measure(() => tickets.create({ title: 'trips-2' })),
      update: await fileDb.roundTrips.measure(() => tickets.update(row.id, { title: 'trips-3' })),
      findById: await fileDb.roundTrips.measure(() => tickets.findById(row.id)),
      count: await fileDb.roundTrips.measure(() => tickets.count()),
      transaction: await fileDb.roundTrips.measure(() =>
        scope.transaction(async (tx) => {
          const made = await tx.repo('tickets').create({ title: 'tx-1' })
          await tx.repo('tickets').update(made.id, { title: 'tx-2' })
        }),
      ),
    }
    expect(trips).toEqual({ create: 3, update: 3, findById: 1, count: 1, transaction: 4 })
  })

  it('sets the settings in scope.transaction and for scope.db writes, which pay for them, not its reads', async () => {
    const scope = withContext.withContext({ tenantId, actorId })
    const row = await without.withContext({ tenantId }).repo('tickets').create({ title: 'plain' })
    expect(await stamp(fileDb.db, row.id)).toMatchObject({ touched_by: null, touched_in_tenant: null })

    const trips = await fileDb.roundTrips.measure(() => scope.db.updateTable('tickets').set({ title: 'via-db' }).where('id', '=', row.id).execute())
    expect(trips).toBe(3)
    expect(await stamp(fileDb.db, row.id)).toEqual({
      title: 'via-db',
      touched_by: actorId,
      touched_in_tenant: tenantId,
      touched_by_system: null,
      touched_request: null,
    })
    expect(await fileDb.roundTrips.measure(() => scope.db.selectFrom('tickets').select('id').execute())).toBe(1)

    const other = randomUUID()
    await withContext.withContext({ tenantId, actorId: other }).transaction(async (tx) => {
      await tx.db.updateTable('tickets').set({ title: 'in-tx' }).where('id', '=', row.id).execute()
    })
    expect(await stamp(fileDb.db, row.id)).toMatchObject({ title: 'in-tx', touched_by: other })
  })

  it('names the actor of a system scope, with the system flag on and no tenant', async () => {
    const system = withContext.asSystem({ actorId: actorId.toUpperCase(), reason: 'support fix' })
    const row = await system.repo('tickets').create({ title: 'by-system', tenant_id: tenantId } as never)
    expect(await stamp(fileDb.db, row.id)).toEqual({
      title: 'by-system',
      touched_by: actorId,
      touched_in_tenant: null,
      touched_by_system: 'on',
      touched_request: null,
    })
  })

  it('is off by default: a trigger reads no context (null), and a write stays one round trip', async () => {
    const tickets = without.withContext({ tenantId, actorId, requestId: 'req-off' }).repo('tickets')
    const row = await tickets.create({ title: 'off' })
    expect(await stamp(fileDb.db, row.id)).toEqual({ title: 'off', touched_by: null, touched_in_tenant: null, touched_by_system: null, touched_request: null })
    expect(await fileDb.roundTrips.measure(() => tickets.update(row.id, { title: 'off-2' }))).toBe(1)
    expect(await stamp(fileDb.db, row.id)).toMatchObject({ title: 'off-2', touched_by: null })
  })

  it('hands a hostile request id to triggers as the exact text, never as SQL', async () => {
    const hostile = ["x', true); select set_config('tenantry.system', 'on', true); --", "\\'); drop table tickets; --", '$$ $x$ \u00e9\u{1F600} \\x27']
    for (const requestId of hostile) {
      const row = await withContext.withContext({ tenantId, actorId, requestId }).repo('tickets').create({ title: 'hostile' })
      expect(await stamp(fileDb.db, row.id)).toEqual({
        title: 'hostile',
        touched_by: actorId,
        touched_in_tenant: tenantId,
        touched_by_system: null,
        touched_request: requestId,
      })
    }
    expect(await fileDb.db.selectFrom('tickets').select('id').where('title', '=', 'hostile').execute()).toHaveLength(hostile.length)
  })

  it('refuses a triggerContext that is not a boolean, and a misspelt one, with VALIDATION naming the option', async () => {
    for (const options of [{ triggerContext: 'yes' }, { triggerContexts: true }]) {
      let error: unknown
      try {
        createTenantry({ pool: fileDb.pool, ...(options as object) })
      } catch (e) {
        error = e
      }
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
      expect(JSON.stringify((error as { issues?: unknown }).issues ?? (error as Error).message)).toContain(Object.keys(options)[0]!)
    }
  })

  it('over a pool that pipelines: the settings, the write and COMMIT in one round trip, and a failing write rolls back', async () => {
    const pipelined = countingPool(fileDb.url, 2, { pipeline: true })
    try {
      const app = createTenantry<TriggerDB>({ pool: pipelined.pool, tables: { ...appTables, tickets: ticketTable } as never, triggerContext: true })
      await app.ready()
      const tickets = app.withContext({ tenantId, actorId, requestId: 'req-piped' }).repo('tickets')
      let created: { id: string } | undefined
      expect(await pipelined.measure(async () => (created = await tickets.create({ title: 'piped' })))).toBe(1)
      expect(await stamp(fileDb.db, created!.id)).toEqual({
        title: 'piped',
        touched_by: actorId,
        touched_in_tenant: tenantId,
        touched_by_system: null,
        touched_request: 'req-piped',
      })
      expect(await pipelined.measure(() => tickets.update(created!.id, { title: 'piped-2' }))).toBe(1)
      expect(await stamp(fileDb.db, created!.id)).toMatchObject({ title: 'piped-2', touched_by: actorId })
      // A write the database refuses (NOT NULL) rolls back: no success audit row, and the pooled
      // connections go on working (none is left inside the failed transaction).
      const failed = await tickets.create({ title: null as never }).catch((e: unknown) => e)
      expect(isTenantryError(failed, 'NOT_NULL_VIOLATION')).toBe(true)
      const audit = await fileDb.db
        .selectFrom('tenantry.audit_logs')
        .select(['outcome', 'error_code'])
        .where('request_id', '=', 'req-piped')
        .where('action', '=', 'tickets.create')
        .orderBy('created_at')
        .execute()
      expect(audit).toEqual([
        { outcome: 'success', error_code: null },
        { outcome: 'failure', error_code: 'NOT_NULL_VIOLATION' },
      ])
      for (let i = 0; i < 3; i++) expect((await tickets.create({ title: `after-${i}` })).id).toBeTruthy()
      expect(await fileDb.db.selectFrom('tickets').select('id').where('title', 'like', 'after-%').execute()).toHaveLength(3)
    } finally {
      await pipelined.pool.end()
    }
  })
})
