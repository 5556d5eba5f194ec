import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { withDatabase } from '../../src/testing/index.js'
import { exampleEnv, repositoryRoot, runExample } from './run-example.js'

/** Each test starts `tsx` and the example's own connections: generous, for a loaded machine. */
const SPAWN_TIMEOUT = 120_000

const serverUrl = inject('testServerUrl')
const admin = new pg.Pool({ connectionString: serverUrl, max: 2 })
admin.on('error', () => {})
afterAll(() => admin.end())

async function databasesNamed(prefix: string): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`])
  return rows.map((r) => r.datname)
}

const bundledMigrationCount = readdirSync(join(repositoryRoot, 'migrations')).filter((f) => f.endsWith('.up.sql')).length

/** What every run of the demo must tell. */
function expectTheStory(stdout: string): void {
  expect(stdout).toContain(`applied ${bundledMigrationCount} migrations`)
  expect(stdout).toMatch(/bob +require\('projects:write'\) +-> FORBIDDEN/)
  expect(stdout).toMatch(/gina update\(apollo, 'Mine now'\) -> NOT_FOUND/)
  expect(stdout).toContain('after restore:    count=1')
  expect(stdout).toContain('the same successor')
  expect(stdout).toMatch(/replay of the first token +-> TOKEN_REUSED/)
  expect(stdout).toMatch(/tokens\.reuse_detected +denied +acme +alice/)
  expect(stdout).toMatch(/projects\.update +denied +globex +gina/)
  expect(stdout).not.toMatch(/rt_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/) // no whole token on screen
}

describe('npm run demo', () => {
  it(
    'tells the story on DATABASE_URL in a throwaway database, and drops it',
    async () => {
      const run = await runExample('examples/demo.ts', exampleEnv({ DATABASE_URL: serverUrl }))
      // Together, so a failure shows the exit code and what the example wrote to stderr.
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
      expect(run.stdout).toMatch(/in a new database "tenantry_demo_[0-9a-f]{8}"/)
      expectTheStory(run.stdout)
      expect(await databasesNamed('tenantry_demo_')).toEqual([])
    },
    SPAWN_TIMEOUT,
  )

  it(
    'falls back to throwaway schemas when the role may not create databases, and drops them',
    async () => {
      const suffix = randomBytes(4).toString('hex')
      const role = `demo_owner_${suffix}`
      const database = `demo_no_createdb_${suffix}`
      const password = randomBytes(12).toString('hex')
      await admin.query(`create role ${role} login nocreatedb password '${password}'`)
      await admin.query(`create database ${database} owner ${role}`)
      try {
        const url = new URL(withDatabase(serverUrl, database))
        url.username = role
        url.password = password
        const run = await runExample('examples/demo.ts', exampleEnv({ DATABASE_URL: url.toString() }))
        // Together, so a failure shows the exit code and what the example wrote to stderr.
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
        expect(run.stdout).toContain('(no CREATEDB)')
        expectTheStory(run.stdout)
        const check = new pg.Pool({ connectionString: withDatabase(serverUrl, database), max: 1 })
        // The drop below ends connections the pool has already let go of; not a failure.
        check.on('error', () => {})
        check.on('connect', (client) => client.on('error', () => {}))
        try {
          const { rows } = await check.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like '%demo%'`)
          expect(rows).toEqual([])
        } finally {
          await check.end()
        }
      } finally {
        await admin.query(`drop database if exists ${database} with (force)`)
        await admin.query(`drop role if exists ${role}`)
      }
    },
    SPAWN_TIMEOUT,
  )

  it(
    'starts and stops an embedded PostgreSQL without DATABASE_URL',
    async () => {
      const run = await runExample('examples/demo.ts', exampleEnv())
      // Together, so a failure shows the exit code and what the example wrote to stderr.
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
      expect(run.stdout).toContain('running on an embedded PostgreSQL')
      expectTheStory(run.stdout)
      expect(run.stdout).toContain('server stopped')
    },
    SPAWN_TIMEOUT,
  )
})

describe('the README quick start', () => {
  it('is examples/quickstart.ts, character for character', () => {
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8')
    const block = /^## Quick start\n[\s\S]*?^```ts\n([\s\S]*?)^```$/m.exec(readme)?.[1]
    expect(block, 'README.md has a ```ts block under "## Quick start"').toBeDefined()
    expect(readFileSync(join(repositoryRoot, 'examples', 'quickstart.ts'), 'utf8')).toBe(block)
  })

  it(
    'runs as npm run example:quickstart in a throwaway database on DATABASE_URL, and drops it',
    async () => {
      const run = await runExample('examples/run-quickstart.ts', exampleEnv({ DATABASE_URL: serverUrl }))
      // Together, so a failure shows the exit code and what the example wrote to stderr.
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
      expect(run.stdout).toMatch(/in a new database "tenantry_quickstart_[0-9a-f]{8}"/)
      expect(run.stdout).toContain("[ 'Artemis' ] null [ 'Gemini' ]")
      expect(await databasesNamed('tenantry_quickstart_')).toEqual([])
    },
    SPAWN_TIMEOUT,
  )
})
