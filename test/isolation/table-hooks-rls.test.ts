import { randomUUID } from 'node:crypto'
import { beforeAll } from 'vitest'
import { createTenantry, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant } from '../support/host-schema.js'
import { createHistoryTable, describeTableHooks, HookRecorder, hookTables, type HookDB } from '../support/table-hooks-suite.js'
import { createAppRole } from './support/app-role.js'

/** The table-hook suite under `isolation: 'rls'`, as the non-owner application role. */

const fileDb = await useFileDatabase()
const recorder = new HookRecorder()
const actorId = randomUUID()
let tenantry: Tenantry<HookDB>
let tenantId: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createHistoryTable(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'hooks-rls')
  await createTenantry<HookDB>({ pool: fileDb.pool, tables: hookTables(recorder), isolation: 'rls' }).rls.enable()
  const role = await createAppRole(fileDb, { poolSize: 2 })
  tenantry = createTenantry<HookDB>({ pool: role.pool, tables: hookTables(recorder), isolation: 'rls' })
  await tenantry.ready()
})

describeTableHooks("table hooks (isolation 'rls', application role)", () => ({ mode: 'rls', tenantry, recorder, check: fileDb.db, tenantId, actorId }))
