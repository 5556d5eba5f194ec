import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, type TableDefinition, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant } from '../support/host-schema.js'
import { createHistoryTable, describeTableHooks, HookRecorder, hookTables, type HookDB } from '../support/table-hooks-suite.js'

const fileDb = await useFileDatabase()
const recorder = new HookRecorder()
const actorId = randomUUID()
let tenantry: Tenantry<HookDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createHistoryTable(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'hooks-query')
  tenantry = createTenantry<HookDB>({ pool: fileDb.pool, tables: hookTables(recorder) })
  await tenantry.ready()
})

describeTableHooks("table hooks (isolation 'query')", () => ({ mode: 'query', tenantry, recorder, check: fileDb.db, tenantId, actorId }))

describe('args.before of the before hooks', () => {
  it('holds the row lock the statement then takes: another transaction cannot lock the rows while beforeUpdate runs', async () => {
    const row = await tenantry.withContext({ tenantId }).repo('projects').create({ name: 'locked' })
    let refused: unknown
    recorder.behaviour = {
      beforeUpdate: async () => {
        refused = await fileDb.db
          .selectFrom('projects')
          .select('id')
          .where('id', '=', row.id)
          .forUpdate()
          .noWait()
          .execute()
          .catch((e: unknown) => e)
      },
    }
    await tenantry.withContext({ tenantId }).repo('projects').update(row.id, { name: 'locked-2' })
    recorder.behaviour = {}
    expect(refused).toMatchObject({ code: '55P03' })
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe('locked-2')
  })
})

describe('round trips of hooked writes (query mode)', () => {
  function withHooks(hooks: Record<string, () => void>) {
    return createTenantry<HookDB>({
      pool: fileDb.pool,
      tables: { ...appTables, projects: defineTable<HookDB, 'projects'>({ ...(appTables.projects as unknown as TableDefinition<HookDB, 'projects'>), hooks }) },
    })
  }

  it('costs BEGIN, the statement and COMMIT with an after hook (old rows come back in the same statement), one locking read more with a before hook', async () => {
    const afterOnly = withHooks({ afterUpdate: () => {}, afterDelete: () => {} })
    const beforeOnly = withHooks({ beforeUpdate: () => {}, beforeDelete: () => {} })
    await afterOnly.ready()
    await beforeOnly.ready()
    const after = afterOnly.withContext({ tenantId }).repo('projects')
    const before = beforeOnly.withContext({ tenantId }).repo('projects')
    const rows = await after.createMany([{ name: 'rt-1' }, { name: 'rt-2' }, { name: 'rt-3' }])
    const trips = {
      afterUpdate: await fileDb.roundTrips.measure(() => after.update(rows[0]!.id, { name: 'rt-1b' })),
      afterUpdateMany: await fileDb.roundTrips.measure(() => after.updateMany({ name: { like: 'rt-%' } }, { status: 'paused' })),
      afterSoftDelete: await fileDb.roundTrips.measure(() => after.softDelete(rows[0]!.id)),
      afterPurge: await fileDb.roundTrips.measure(() => after.purge(rows[0]!.id)),
      beforeUpdate: await fileDb.roundTrips.measure(() => before.update(rows[1]!.id, { name: 'rt-2b' })),
      beforeUpdateMany: await fileDb.roundTrips.measure(() => before.updateMany({ name: { like: 'rt-%' } }, { status: 'active' })),
      beforeSoftDelete: await fileDb.roundTrips.measure(() => before.softDelete(rows[1]!.id)),
      beforePurge: await fileDb.roundTrips.measure(() => before.purge(rows[1]!.id)),
    }
    expect(trips).toEqual({
      afterUpdate: 3,
      afterUpdateMany: 3,
      afterSoftDelete: 3,
      afterPurge: 3,
      beforeUpdate: 4,
      beforeUpdateMany: 4,
      beforeSoftDelete: 4,
      beforePurge: 4,
    })
  })
})
