import type { TestProject } from 'vitest/node'
import { startTestDatabase } from '../../src/testing/start-test-database.js'

export const TEMPLATE_DATABASE = 'tenantry_template'

declare module 'vitest' {
  export interface ProvidedContext {
    testServerUrl: string
    templateDatabase: string
  }
}

/** One server per run; every test file clones the migrated template database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The same starter our users get from `tenantry/testing`: a server and a migrated template.
  const server = await startTestDatabase({ migrate: true, templateName: TEMPLATE_DATABASE })
  project.provide('testServerUrl', server.url)
  project.provide('templateDatabase', TEMPLATE_DATABASE)
  return async () => {
    await server.stop()
  }
}
