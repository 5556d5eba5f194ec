import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url))

export interface ExampleRun {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment of a child: no database variables unless given, so each test picks its own. */
export function exampleEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { DATABASE_URL: _a, TEST_DATABASE_URL: _b, ...rest } = process.env
  return { ...rest, ...extra }
}

/** Starts `node --import tsx <file>` in the repository, as `npm run` would. */
export function startExample(file: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file], { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Runs an example to the end. */
export function runExample(file: string, env: NodeJS.ProcessEnv): Promise<ExampleRun> {
  const child = startExample(file, env)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
