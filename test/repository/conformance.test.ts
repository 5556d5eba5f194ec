import { describe } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry } from '../support/host-schema.js'
import { repositoryConformance } from '../support/repository-conformance.js'

const fileDb = await useFileDatabase()
await createHostTables(fileDb.db)
const tenantId = await insertTenant(fileDb.db, 'conformance')
const tenantry = makeTenantry(fileDb.pool)

// The same cases run on a Citus cluster in test/citus/audited-writes.test.ts.
describe('repository conformance on one node', () => {
  repositoryConformance(() => ({ repo: () => tenantry.withContext({ tenantId }).repo('projects'), db: fileDb.db }))
})
