import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import pg from 'pg'
import { cloneTestDatabase } from 'tenantry/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'

// scripts/consumer-check.mjs writes the README's quick start here, copied as it stands.
const quickstart = new URL('./quickstart.mts', import.meta.url)

function runNode(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('the README quick start, copied into a file of a fresh project', () => {
  // An empty database: the quick start must create everything it uses.
  const clone = cloneTestDatabase({ serverUrl: inject('serverUrl') })
  afterAll(async () => (await clone).drop())

  it('runs with node against an empty database, and leaves what it says in the database', async () => {
    expect(existsSync(quickstart), 'quickstart.mts is missing: the consumer check copies it from README.md').toBe(true)
    const { url } = await clone
    const { TEST_DATABASE_URL: _, ...env } = process.env
    const run = await runNode(quickstart.pathname, { ...env, DATABASE_URL: url })
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("[ 'Artemis' ] null [ 'Gemini' ]")
    const db = new pg.Client({ connectionString: url })
    await db.connect()
    try {
      const { rows } = await db.query('select name, deleted_at is not null as deleted from projects order by name')
      expect(rows).toEqual([
        { name: 'Artemis', deleted: true },
        { name: 'Gemini', deleted: false },
      ])
      const audit = await db.query(`select action from tenantry.audit_logs where resource_type = 'projects' order by created_at, action`)
      expect(audit.rows.map((r) => r.action)).toEqual(['projects.create', 'projects.update', 'projects.softDelete', 'projects.create'])
    } finally {
      await db.end()
    }
  })
})
