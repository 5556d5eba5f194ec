import { once } from 'node:events'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { DEMO_PASSWORD } from '../../examples/http-api/seed-api-data.js'
import { exampleEnv, startExample } from './run-example.js'

const serverUrl = inject('testServerUrl')
const admin = new pg.Pool({ connectionString: serverUrl, max: 1 })
admin.on('error', () => {})
afterAll(() => admin.end())

describe('npm run example:http', () => {
  it('serves the API on DATABASE_URL, and on SIGTERM stops and drops its database', async () => {
    const child = startExample('examples/http-api/main.ts', exampleEnv({ DATABASE_URL: serverUrl, PORT: '0' }))
    let stdout = ''
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = once(child, 'exit')
    try {
      const base = await new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          const match = /listening on (http:\/\/\S+)/.exec(stdout)
          if (match?.[1]) resolve(match[1])
        })
        child.on('exit', () => reject(new Error(`exited early: ${stderr}`)))
      })
      const database = /in a new database "([a-z0-9_]+)"/.exec(stdout)?.[1]
      expect(database).toMatch(/^tenantry_http_/)

      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'acme', email: 'ada@acme.test', password: DEMO_PASSWORD }),
      })
      expect(login.status).toBe(201)
      const { accessToken } = (await login.json()) as { accessToken: string }
      const created = await fetch(`${base}/api/projects`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ name: 'Apollo' }),
      })
      expect(created.status).toBe(201)

      child.kill('SIGTERM')
      const [code] = await exited
      expect(code).toBe(0)
      expect(stdout).toContain('stopped; example data removed')
      const { rows } = await admin.query('select 1 from pg_database where datname = $1', [database])
      expect(rows).toEqual([])
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 120_000)
})
