import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { runSeedCommand } from '../../src/cli/commands/seed.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { createTenantry } from '../../src/index.js'
import { cloneTestDatabase, seedDemoData, withDatabase } from '../../src/testing/index.js'

// An empty database (not a copy of the migrated template): the command must migrate it itself.
const clone = await cloneTestDatabase({ serverUrl: inject('testServerUrl') })
const pool = new pg.Pool({ connectionString: clone.url, max: 2 })
const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })

afterAll(async () => {
  await db.destroy()
  await clone.drop()
})

async function run(argv: string[], env: Record<string, string | undefined> = { DATABASE_URL: clone.url }) {
  const out: string[] = []
  const err: string[] = []
  const code = await runSeedCommand(argv, { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

async function rolesBySlugAndEmail(): Promise<string[]> {
  const rows = await db
    .selectFrom('tenantry.user_roles as ur')
    .innerJoin('tenantry.users as u', 'u.id', 'ur.user_id')
    .innerJoin('tenantry.roles as r', 'r.id', 'ur.role_id')
    .innerJoin('tenantry.tenants as t', 't.id', 'ur.tenant_id')
    .select(['t.slug', 'u.email', 'r.name'])
    .orderBy('t.slug')
    .orderBy('u.email')
    .execute()
  return rows.map((r) => `${r.slug} ${r.email} ${r.name}`)
}

describe('tenantry seed --demo', () => {
  it('migrates an empty database and loads the tenants, roles, users, consultant and sessions', async () => {
    const { code, out, err } = await run(['--demo'])
    expect(err).toBe('')
    expect(code).toBe(EXIT.ok)
    expect(out).toMatch(/applied \d+ migration\(s\)/)
    expect(out).toContain('seeded 2 tenants, 6 roles, 6 users, 7 sessions')

    const tenants = await db.selectFrom('tenantry.tenants').select(['slug', 'type', 'status']).orderBy('slug').execute()
    expect(tenants).toEqual([
      { slug: 'bluebird-trial', type: 'trial', status: 'active' },
      { slug: 'northwind', type: 'enterprise', status: 'active' },
    ])
    const admin = await db.selectFrom('tenantry.roles').select('permissions').where('name', '=', 'admin').execute()
    expect(admin).toEqual([{ permissions: ['*:*'] }, { permissions: ['*:*'] }])
    expect(await rolesBySlugAndEmail()).toContain('northwind sam.rivera@consulting.example.net operator')
    expect(await rolesBySlugAndEmail()).toContain('bluebird-trial sam.rivera@consulting.example.net admin')
    const consultantMemberships = await db
      .selectFrom('tenantry.memberships as m')
      .innerJoin('tenantry.users as u', 'u.id', 'm.user_id')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('u.email', '=', 'sam.rivera@consulting.example.net')
      .executeTakeFirstOrThrow()
    expect(Number(consultantMemberships.n)).toBe(2)
    const sessions = await db.selectFrom('tenantry.sessions').select(['client_id', 'tenant_id']).execute()
    expect(sessions).toHaveLength(7)
    expect(sessions.every((s) => s.client_id === 'demo-seed' && s.tenant_id !== null)).toBe(true)
    const audited = await db.selectFrom('tenantry.audit_logs').select('action').where('action', '=', 'tenants.create').execute()
    expect(audited).toHaveLength(2)
  })

  it('changes nothing on a second run, and loads everything again with --reset', async () => {
    const before = await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()
    const again = await run(['--demo'])
    expect(again.code).toBe(EXIT.ok)
    expect(again.out).toContain('demo data already present')
    expect(await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()).toEqual(before)

    const reset = await run(['--demo', '--reset', '--no-sessions'])
    expect(reset.code).toBe(EXIT.ok)
    expect(reset.out).toContain('seeded 2 tenants, 6 roles, 6 users, 0 sessions')
    const after = await db.selectFrom('tenantry.tenants').select('id').execute()
    expect(after).toHaveLength(2)
    expect(after.map((t) => t.id)).not.toContain(before[0]!.id)
    expect(await db.selectFrom('tenantry.users').select('id').execute()).toHaveLength(6)
    expect(await db.selectFrom('tenantry.sessions').select('id').execute()).toHaveLength(0) // cascaded with the users
  })

  it('is the same data set from code: seedDemoData of tenantry/testing finds it, and --reset loads it again', async () => {
    const tenantry = createTenantry({ pool })
    const found = await seedDemoData(tenantry)
    expect(found.seeded).toBe(false)
    expect(found.tenants.map((t) => t.slug).sort()).toEqual(['bluebird-trial', 'northwind'])
    const before = await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()
    const again = await seedDemoData(tenantry, { reset: true, sessions: false })
    expect(again).toMatchObject({ seeded: true, sessionIds: [] })
    expect(again.roles).toHaveLength(6)
    const after = await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()
    expect(after).toHaveLength(2)
    expect(after).not.toEqual(before)
    expect(await rolesBySlugAndEmail()).toContain('bluebird-trial sam.rivera@consulting.example.net admin')
  })

  it('stops at a usage error before touching the database: --reset with a mistake purges nothing', async () => {
    const before = await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()
    const run1 = await run(['--demo', '--reset', '--no-session'])
    expect(run1).toMatchObject({ code: EXIT.usage, out: '' })
    expect(run1.err.split('\n')[0]).toBe('tenantry seed: unknown option --no-session')
    const run2 = await run(['--demo', '--reset', '--schema'])
    expect(run2.err.split('\n')[0]).toBe('tenantry seed: --schema needs a value')
    expect(await db.selectFrom('tenantry.tenants').select('id').orderBy('id').execute()).toEqual(before)
  })

  it('explains usage errors with exit code 2 and a database failure with 1', async () => {
    expect(await run([])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--demo') })
    expect(await run(['--demo', '--bogus'])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--bogus') })
    expect(await run(['--demo'], {})).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('DATABASE_URL') })
    const missing = await run(['--demo'], { DATABASE_URL: withDatabase(inject('testServerUrl'), 'tenantry_no_such_database') })
    expect(missing.code).toBe(EXIT.failed)
    expect(missing.err).toContain('does not exist')
    expect(missing.err).toContain('tenantry_no_such_database')
  })
})
