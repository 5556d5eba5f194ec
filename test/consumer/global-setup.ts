import { startTestDatabase } from 'tenantry/testing'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string
    templateDatabase: string
  }
}

/** One PostgreSQL per run (TEST_DATABASE_URL, a container or embedded) with tenantry's tables migrated in a template. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestDatabase({ migrate: true })
  project.provide('serverUrl', server.url)
  project.provide('templateDatabase', server.template!)
  return () => server.stop()
}
