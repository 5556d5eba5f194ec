import type { TestProject } from 'vitest/node'
import { startTestDatabase } from '../../src/testing/start-test-database.js'
import { migrate } from '../../src/migration/migrate.js'
import { withDatabase } from '../../src/testing/start-test-database.js'
import pg from 'pg'

export const TEMPLATE_DATABASE = 'tenantry_template'

declare module 'vitest' {
  export interface ProvidedContext {
    testServerUrl: string
    templateDatabase: string
  }
}

/** One server per run; every test file clones the migrated template database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestDatabase()
  await server.pool.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`)
  await server.pool.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`)
  const templatePool = new pg.Pool({ connectionString: withDatabase(server.url, TEMPLATE_DATABASE), max: 2 })
  try {
    const { error } = await migrate({ pool: templatePool })
    if (error) throw error
  } finally {
    await templatePool.end()
  }
  project.provide('testServerUrl', server.url)
  project.provide('templateDatabase', TEMPLATE_DATABASE)
  return async () => {
    await server.stop()
  }
}
