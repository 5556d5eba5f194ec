import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant } from '../support/host-schema.js'
import { createTicketTable, stamp, ticketTable, type TriggerDB } from '../support/trigger-context.js'
import { createAppRole, type AppRole } from './support/app-role.js'

/** Under `isolation: 'rls'` the context settings are always there for the host's triggers. */

const fileDb = await useFileDatabase()
const actorId = randomUUID()
const tables = { ...appTables, tickets: ticketTable } as never
let role: AppRole
let app: Tenantry<TriggerDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createTicketTable(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'trigger-context-rls')
  await createTenantry<TriggerDB>({ pool: fileDb.pool, tables, isolation: 'rls' }).rls.enable()
  role = await createAppRole(fileDb, { poolSize: 2 })
  app = createTenantry<TriggerDB>({ pool: role.pool, tables, isolation: 'rls' })
  await app.ready()
})

describe("trigger context with isolation 'rls' (application role)", () => {
  it('lets a host trigger read the actor and tenant without the option, at the cost of any RLS write', async () => {
    const tickets = app.withContext({ tenantId, actorId, requestId: "req-'rls'" }).repo('tickets')
    const row = await tickets.create({ title: 'rls' })
    expect(await stamp(fileDb.db, row.id)).toEqual({
      title: 'rls',
      touched_by: actorId,
      touched_in_tenant: tenantId,
      touched_by_system: null,
      touched_request: "req-'rls'",
    })
    const other = randomUUID()
    const trips = await role.roundTrips.measure(() => app.withContext({ tenantId, actorId: other }).repo('tickets').update(row.id, { title: 'rls-2' }))
    expect(trips).toBe(3)
    expect(await stamp(fileDb.db, row.id)).toMatchObject({ title: 'rls-2', touched_by: other, touched_in_tenant: tenantId })
  })

  it('says the same with triggerContext: true (a no-op under RLS)', async () => {
    const same = createTenantry<TriggerDB>({ pool: role.pool, tables, isolation: 'rls', triggerContext: true })
    await same.ready()
    const tickets = same.withContext({ tenantId, actorId }).repo('tickets')
    const row = await tickets.create({ title: 'rls-on' })
    expect(await stamp(fileDb.db, row.id)).toMatchObject({ touched_by: actorId, touched_in_tenant: tenantId })
    expect(await role.roundTrips.measure(() => tickets.findById(row.id))).toBe(3)
  })
})
