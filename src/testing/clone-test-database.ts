import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createDatabase, dropDatabase, withDatabase } from './start-test-database.js'

export interface ClonedDatabase {
  /** Connection string of the new database. */
  url: string
  name: string
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>
}

/**
 * Copies a template database on the server at `serverUrl`, from any process. Test workers use it:
 * the server and its template come from `globalSetup` (through vitest's `provide`/`inject`), and
 * each test file gets its own copy, so files run in parallel without seeing each other's rows.
 *
 * @example
 * const db = await cloneTestDatabase({ serverUrl: inject('testServerUrl'), template: inject('templateDatabase') })
 * afterAll(() => db.drop())
 */
export async function cloneTestDatabase(options: { serverUrl: string; template?: string; name?: string }): Promise<ClonedDatabase> {
  const name = options.name ?? `tenantry_test_${randomBytes(6).toString('hex')}`
  await withAdmin(options.serverUrl, (admin) => createDatabase(admin, name, options.template))
  return {
    url: withDatabase(options.serverUrl, name),
    name,
    drop: () => withAdmin(options.serverUrl, (admin) => dropDatabase(admin, name)),
  }
}

/** One short-lived connection: a pool here would outlive the test file for nothing. */
async function withAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.end()
  }
}
