import { startTestDatabase } from '../../../src/testing/start-test-database.js'

/** Starts and stops an embedded server in vitest's own process, as a host's globalSetup would. */
export default async function setup(): Promise<() => Promise<void>> {
  const database = await startTestDatabase({ preferEmbedded: true })
  return () => database.stop()
}
