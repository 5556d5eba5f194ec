import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { withDatabase } from '../../src/testing/start-test-database.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const tsx = join(root, 'node_modules', '.bin', 'tsx')
const cli = join(root, 'src', 'cli', 'index.ts')

/** Runs the real `tenantry` bin as a shell user would; never throws, returns the exit code. */
async function tenantry(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [cli, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

const serverUrl = inject('testServerUrl')
const name = `tenantry_cli_${randomBytes(5).toString('hex')}`
const url = withDatabase(serverUrl, name)
const admin = new pg.Pool({ connectionString: serverUrl, max: 1 })
const check = new pg.Pool({ connectionString: url, max: 1 })

beforeAll(async () => {
  await admin.query(`create database ${name}`)
})

afterAll(async () => {
  await check.end()
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.end()
})

describe('npx tenantry migrate', () => {
  it('lists every migration as pending on a fresh database, applies them, then reports them applied', async () => {
    const before = await tenantry(['migrate', 'status'], { DATABASE_URL: url })
    expect(before.code).toBe(0)
    expect(before.stdout).toMatch(/0001_core\s+pending/)
    expect(before.stdout).toMatch(/0 applied, \d+ pending/)

    const up = await tenantry(['migrate', 'up'], { DATABASE_URL: url })
    expect(up.code).toBe(0)
    expect(up.stdout).toContain('✓ 0001_core (up)')
    const { rows } = await check.query(`select count(*)::int as n from tenantry.tenantry_migration`)
    expect(rows[0].n).toBeGreaterThanOrEqual(4)

    const again = await tenantry(['migrate'], { DATABASE_URL: url })
    expect(again.stdout).toContain('already up to date')
    const after = await tenantry(['migrate', 'status'], { DATABASE_URL: url })
    expect(after.stdout).not.toContain('pending\n0')
    expect(after.stdout).toMatch(/\d+ applied, 0 pending/)
  })

  it('prints the SQL of a dry run and runs none of it', async () => {
    const dry = await tenantry(['migrate', 'down', '--dry-run'], { DATABASE_URL: url })
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/^-- \d{4}_\w+ \(down\)/m)
    expect(dry.stdout).toContain('"tenantry".')
    const { rows } = await check.query(`select count(*)::int as n from tenantry.tenantry_migration`)
    expect(rows[0].n).toBeGreaterThanOrEqual(4)
  })

  it('undoes the last migration with down, and every one with down --all', async () => {
    const { rows: before } = await check.query(`select count(*)::int as n from tenantry.tenantry_migration`)
    const down = await tenantry(['migrate', 'down'], { DATABASE_URL: url })
    expect(down.code).toBe(0)
    const { rows: after } = await check.query(`select count(*)::int as n from tenantry.tenantry_migration`)
    expect(after[0].n).toBe(before[0].n - 1)
    const all = await tenantry(['migrate', 'down', '--all'], { DATABASE_URL: url })
    expect(all.code).toBe(0)
    const { rows } = await check.query(`select to_regclass('tenantry.tenants')::text as t`)
    expect(rows[0].t).toBeNull()
  })

  it('exits non-zero with one line and no password for a wrong password, an unreachable server or a bad URL', async () => {
    const secret = 'hunter2-not-logged'
    const parsed = new URL(url)
    parsed.password = secret
    const wrong = await tenantry(['migrate', 'status'], { DATABASE_URL: parsed.toString() })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1)
    expect(wrong.stderr).toContain('password authentication failed')

    parsed.port = '1'
    const unreachable = await tenantry(['migrate', 'up'], { DATABASE_URL: parsed.toString() })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1)

    const bad = await tenantry(['migrate', 'up'], { DATABASE_URL: `postgres://user:${secret}@host:notaport/db` })
    expect(bad.code).toBe(1)
    for (const output of [wrong, unreachable, bad]) {
      expect(output.stdout + output.stderr).not.toContain(secret)
      expect(output.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('explains usage errors with exit code 2', async () => {
    expect((await tenantry(['migrate', 'sideways'], { DATABASE_URL: url })).code).toBe(2)
    expect((await tenantry(['migrate', 'up'], {})).code).toBe(2)
    expect((await tenantry(['nope'], {})).code).toBe(2)
    const help = await tenantry(['migrate', '--help'], {})
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: tenantry migrate')
  })
})
