import { spawn } from 'node:child_process'
import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const fixtures = join(import.meta.dirname, 'exit-code')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)

interface ChildResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a child with no TEST_DATABASE_URL, so it starts embedded PostgreSQL as a fresh host would. */
function runChild(command: string, args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, CI: 'true' }
  delete childEnv.TEST_DATABASE_URL
  delete childEnv.VITEST
  delete childEnv.VITEST_WORKER_ID
  delete childEnv.VITEST_POOL_ID
  delete childEnv.NODE_OPTIONS
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

const runVitest = (fixture: string) => runChild(bin('vitest'), ['run', '--config', join(fixtures, 'vitest.fixture.config.ts')], { FIXTURE: fixture })

const runHost = (mode: string) => runChild(bin('tsx'), [join(fixtures, 'host-process.ts')], { MODE: mode })

async function serverAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.end()
    return true
  } catch {
    return false
  }
}

function startedServerUrl(result: ChildResult): string {
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'))
  if (!line) throw new Error(`the host process printed no server line:\n${result.stdout}\n${result.stderr}`)
  return (JSON.parse(line) as { url: string }).url
}

describe('exit status with an embedded test server', () => {
  it('a vitest run with one failing test exits non-zero although its globalSetup used embedded PostgreSQL', async () => {
    const result = await runVitest('failing.fixture.ts')
    expect(result.stdout + result.stderr).toMatch(/1 failed/)
    expect(result.status).toBe(1)
  }, 120_000)

  it('the same run with only passing tests exits 0', async () => {
    const result = await runVitest('passing.fixture.ts')
    expect(result.status).toBe(0)
  }, 120_000)

  it('a host script keeps process.exitCode = 3 set after startTestDatabase() and stop()', async () => {
    const result = await runHost('exit-code-after-stop')
    expect(result.status).toBe(3)
    expect(await serverAnswers(startedServerUrl(result))).toBe(false)
  }, 120_000)

  it('a host that calls process.exit(3) with the server running exits 3, and the server is stopped', async () => {
    const result = await runHost('exit-while-running')
    expect(result.status).toBe(3)
    expect(await serverAnswers(startedServerUrl(result))).toBe(false)
  }, 120_000)

  it('an uncaught error exits 1, and the server is stopped on exit', async () => {
    const result = await runHost('uncaught-error')
    expect(result.stderr).toContain('host failure')
    expect(result.status).toBe(1)
    expect(await serverAnswers(startedServerUrl(result))).toBe(false)
  }, 120_000)
})
