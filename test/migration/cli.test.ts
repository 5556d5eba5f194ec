import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/run-cli.js'
import { bundledMigrations } from '../../src/migration/migrate.js'
import { freePort } from '../../src/testing/free-port.js'
import { createFreshDatabase, tablesOf, type FreshDatabase } from './support/fresh-database.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const builtCli = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))

interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `tenantry ...` in this process through the same entry point as the binary (`runCli` with a
 * `CommandIo`), with only the env given. In-process, so the cases cost no process start-up and do
 * not time out on a loaded machine; the smoke test below spawns the built binary once.
 */
async function tenantry(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runCli(args, { env, stdout: (line) => stdout.push(`${line}\n`), stderr: (line) => stderr.push(`${line}\n`) })
  return { code, stdout: stdout.join(''), stderr: stderr.join('') }
}

/** Runs the built binary (`dist/cli/index.js`, the package's `bin`) in a child process. */
function builtTenantry(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [builtCli, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

const oneLine = (text: string) => text.trim().split('\n')
const PASSWORD = 'Hunter2-s3cret'

let fresh: FreshDatabase
let names: string[]
beforeAll(async () => {
  fresh = await createFreshDatabase()
  names = (await bundledMigrations()).map((m) => m.name)
})
afterAll(() => fresh.drop())

describe('tenantry (usage)', () => {
  it('answers --help with exit 0 and usage errors with exit 2', async () => {
    const help = await tenantry(['--help'])
    const migrateHelp = await tenantry(['migrate', '--help'])
    const none = await tenantry([])
    const unknownCommand = await tenantry(['migrat'])
    const unknownAction = await tenantry(['migrate', 'sideways'])
    const unknownFlag = await tenantry(['migrate', 'status', '--bogus'])
    const noUrl = await tenantry(['migrate', 'status'])
    expect(help).toMatchObject({ code: 0 })
    expect(help.stdout).toContain('migrate [up|down|status]')
    expect((await tenantry(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expect(migrateHelp).toMatchObject({ code: 0 })
    expect(migrateHelp.stdout).toContain('--dry-run')
    for (const run of [none, unknownCommand, unknownAction, unknownFlag, noUrl]) expect(run.code).toBe(2)
    expect(unknownAction.stderr).toContain('unknown action "sideways"')
    expect(oneLine(noUrl.stderr)).toEqual(['tenantry migrate: set DATABASE_URL to the database, e.g. postgres://user:password@localhost:5432/app'])
  })

  it('stops at a usage error before touching the database', async () => {
    const env = { DATABASE_URL: fresh.url }
    const runs = [
      await tenantry(['migrate', 'up', '--bogus'], env),
      await tenantry(['migrate', 'up', '--all'], env),
      await tenantry(['migrate', 'up', '--schema'], env),
      await tenantry(['migrate', 'up', 'down'], env),
    ]
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2])
    expect(runs.map((r) => oneLine(r.stderr)[0])).toEqual([
      'tenantry migrate: unknown option --bogus',
      'tenantry migrate: --all goes with down',
      'tenantry migrate: --schema needs a value',
      'tenantry migrate: unexpected argument "down"',
    ])
    expect(runs.every((r) => r.stdout === '')).toBe(true)
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual([])
  })
})

// One real process: the package's `bin` as npm links it, run from the build (CI builds before it tests).
const builtMissing = !existsSync(builtCli)
const underCi = process.env.CI === 'true' || process.env.CI === '1'
if (builtMissing && !underCi) console.warn('test/migration/cli.test.ts: the built-CLI smoke test is skipped: no dist/cli/index.js (npm run build)')

describe.skipIf(builtMissing && !underCi)('tenantry (the built binary)', () => {
  it('runs dist/cli/index.js: exit 0 with the status of every bundled migration, exit 2 on a usage error', async () => {
    if (builtMissing) throw new Error('dist/cli/index.js is missing: CI must run `npm run build` before `npm test`')
    const status = await builtTenantry(['migrate', 'status'], { DATABASE_URL: fresh.url })
    expect(status).toMatchObject({ code: 0, stderr: '' })
    for (const name of names) expect(status.stdout).toMatch(new RegExp(`^${name}\\s+pending$`, 'm'))
    const usage = await builtTenantry(['migrate', 'sideways'], {})
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('unknown action "sideways"')
  }, 60_000)
})

describe('tenantry migrate (connection failures)', () => {
  it('reports a malformed URL in one line (exit 1) without the password', async () => {
    const run = await tenantry(['migrate', 'status'], { DATABASE_URL: `postgres://admin:${PASSWORD}@[not-a-host/db` })
    expect(run.code).toBe(1)
    expect(oneLine(run.stderr)).toEqual(['tenantry migrate: DATABASE_URL is not a valid URL (expected postgres://user:password@host:5432/database)'])
    expect(run.stdout + run.stderr).not.toContain(PASSWORD)
  })

  it('reports a wrong password in one line (exit 1), without the password or a stack trace', async () => {
    const url = new URL(fresh.url)
    url.password = PASSWORD
    const run = await tenantry(['migrate', 'up'], { DATABASE_URL: url.toString() })
    expect(run.code).toBe(1)
    expect(oneLine(run.stderr)).toEqual([`tenantry migrate up: password authentication failed [127.0.0.1:${url.port}/${fresh.name}]`])
    expect(run.stdout + run.stderr).not.toContain(PASSWORD)
  })

  it('reports an unreachable server in one line (exit 1)', async () => {
    const port = await freePort()
    const run = await tenantry(['migrate', 'status'], { DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/app` })
    expect(run.code).toBe(1)
    expect(oneLine(run.stderr)).toEqual([`tenantry migrate status: connection refused (is PostgreSQL running, and on that port?) [127.0.0.1:${port}/app]`])
    expect(run.stdout + run.stderr).not.toContain(PASSWORD)
  })
})

describe('tenantry migrate (against a database)', () => {
  const env = () => ({ DATABASE_URL: fresh.url })
  const applied = async () =>
    (await sql<{ name: string }>`select name from tenantry.tenantry_migration order by name`.execute(fresh.db)).rows.map((r) => r.name)

  it('lists every migration as pending on a fresh database', async () => {
    const run = await tenantry(['migrate', 'status'], env())
    expect(run.code).toBe(0)
    for (const name of names) expect(run.stdout).toMatch(new RegExp(`^${name}\\s+pending$`, 'm'))
    expect(run.stdout).toContain(`0 applied, ${names.length} pending (schema "tenantry" on 127.0.0.1:`)
  })

  it('prints the SQL of a dry run and runs none of it', async () => {
    const run = await tenantry(['migrate', 'up', '--dry-run'], env())
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`-- ${names[0]} (up)`)
    expect(run.stdout).toContain('create table "tenantry".tenants')
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual([])
  })

  it('migrates up, then finds nothing to do', async () => {
    const up = await tenantry(['migrate', 'up'], env())
    expect(up.code).toBe(0)
    expect(oneLine(up.stdout).slice(0, names.length)).toEqual(names.map((n) => `✓ ${n} (up)`))
    expect(oneLine(up.stdout).at(-1)).toMatch(new RegExp(`^applied ${names.length} migration\\(s\\) in schema "tenantry" \\(\\d+ ms\\)$`))
    expect(await applied()).toEqual(names)
    const again = await tenantry(['migrate'], env())
    expect(again).toMatchObject({ code: 0, stderr: '' })
    expect(again.stdout.trim()).toBe('already up to date (schema "tenantry")')
  })

  it('dry-runs down --all without touching anything, then reverts one and all', async () => {
    const plan = await tenantry(['migrate', 'down', '--all', '--dry-run'], env())
    expect(plan.code).toBe(0)
    expect([...plan.stdout.matchAll(/^-- (\S+) \(down\)$/gm)].map((m) => m[1])).toEqual([...names].reverse())
    expect(await applied()).toEqual(names)

    const one = await tenantry(['migrate', 'down'], env())
    expect(one.code).toBe(0)
    expect(one.stdout).toContain(`✓ ${names.at(-1)} (down)`)
    expect(await applied()).toEqual(names.slice(0, -1))
    const status = await tenantry(['migrate', 'status'], env())
    expect(status.stdout).toMatch(new RegExp(`^${names.at(-1)}\\s+pending$`, 'm'))

    const all = await tenantry(['migrate', 'down', '--all'], env())
    expect(all.code).toBe(0)
    expect(await applied()).toEqual([])
    expect(await tablesOf(fresh.db, 'tenantry')).toEqual(['tenantry_migration', 'tenantry_migration_lock'])
  })

  it('migrates another schema with --schema', async () => {
    const run = await tenantry(['migrate', 'up', '--schema', 'auth'], env())
    expect(run.code).toBe(0)
    expect(await tablesOf(fresh.db, 'auth')).toContain('tenants')
    const bad = await tenantry(['migrate', 'up', '--schema', 'Auth"; --'], env())
    expect(bad.code).toBe(2)
  })

  it('reports a failing migration in one line naming it, with exit 1', async () => {
    // a host table referencing tenants makes `down --all` fail at 0001, after three successful steps
    await sql`create table public.projects (id int primary key, tenant_id uuid references auth.tenants (id))`.execute(fresh.db)
    const run = await tenantry(['migrate', 'down', '--all', '--schema', 'auth'], env())
    expect(run.code).toBe(1)
    const lines = oneLine(run.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^tenantry migrate down: 0001_core failed, so the run was rolled back and nothing changed: .*projects.* \(SQLSTATE 2BP01\)/)
    expect(run.stdout).toBe('')
    // the whole run is one transaction: the later migrations undone before 0001 failed are back too
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from auth.tenantry_migration`.execute(fresh.db)
    expect(rows[0]!.n).toBe(names.length)
    expect(await tablesOf(fresh.db, 'auth')).toEqual(expect.arrayContaining(['tenants', 'sessions', 'audit_logs']))
  })
})
