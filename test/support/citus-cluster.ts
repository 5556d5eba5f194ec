import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from '../../src/testing/free-port.js'

/** Debian's PostgreSQL 15, where `../shared/citus/install.sh` puts the extension; or `CITUS_PG_BIN`. */
const BIN = process.env.CITUS_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const INSTALL_HINT = 'run `bash ../shared/citus/install.sh` as root (or scripts/install-citus.sh)'

/** Why Citus cannot run here, or null when the binaries and the extension are installed. */
export function citusUnavailable(): string | null {
  if (!existsSync(join(BIN, 'postgres'))) return `no PostgreSQL 15 binaries in ${BIN}: ${INSTALL_HINT}`
  const libdir = join(BIN, '..', 'lib')
  if (!existsSync(join(libdir, 'citus.so'))) return `the citus extension is not installed in ${libdir}: ${INSTALL_HINT}`
  if (process.getuid?.() === 0 && postgresUser() === null) return 'running as root and there is no `postgres` system user to run the servers'
  return null
}

/**
 * For a test file that needs Citus: null when it can run. Otherwise a one-line note on stderr and
 * `skip`; under `CI=true` the missing cluster is an error instead (a CI run must not pass by skipping).
 */
export function citusSkipReason(file: string): string | null {
  const reason = citusUnavailable()
  if (reason === null) return null
  if (process.env.CI === 'true') throw new Error(`${file}: Citus is required under CI=true: ${reason}`)
  console.warn(`${file} skipped: ${reason}`)
  return reason
}

export interface CitusNode {
  port: number
  url: string
  dataDir: string
  pid: number
}

export interface CitusCluster {
  /** The coordinator's `postgres` database, as the `postgres` superuser (trust auth on loopback). */
  url: string
  coordinator: CitusNode
  workers: CitusNode[]
  /** Stops every server by PID (fast shutdown, then SIGKILL) and removes the data directory. */
  stop(): Promise<void>
}

export interface CitusClusterOptions {
  /** Default 2. */
  workers?: number
  /** Per step (initdb, start, SQL). Default 60 s: the machine may be busy. */
  timeoutMs?: number
}

function postgresUser(): { uid: number; gid: number } | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'))
    if (!line) return null
    const [, , uid, gid] = line.split(':')
    return { uid: Number(uid), gid: Number(gid) }
  } catch {
    return null
  }
}

/** Runs a PostgreSQL binary, as `postgres` when we are root (the server refuses to run as root). */
function run(binary: string, args: string[], timeoutMs: number): Promise<string> {
  const asRoot = process.getuid?.() === 0
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args]] : [join(BIN, binary), args]
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) {
        const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${error.code ?? '?'}`
        reject(new Error(`${binary} ${args[0] ?? ''} ${args[1] ?? ''}: ${why}: ${`${stderr}${stdout}`.trim().slice(-800)}`))
      } else resolve(stdout)
    })
  })
}

async function logTail(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim().split('\n').slice(-8).join('\n')
  } catch {
    return '(no log)'
  }
}

async function startNode(dir: string, name: string, timeoutMs: number): Promise<CitusNode> {
  const dataDir = join(dir, name)
  const log = join(dir, `${name}.log`)
  const port = await freePort()
  await run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync'], timeoutMs)
  const settings = {
    shared_preload_libraries: "'citus'",
    port: String(port),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    max_connections: '200',
    // a throwaway cluster: durability buys nothing and costs the shared disk
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: "'32MB'",
  }
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join(''),
  )
  try {
    await run('pg_ctl', ['start', '-D', dataDir, '-l', log, '-w', '-t', String(Math.ceil(timeoutMs / 1000))], timeoutMs + 5_000)
  } catch (error) {
    throw new Error(`citus ${name} did not start on port ${port}: ${(error as Error).message}\n${await logTail(log)}`)
  }
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir, pid }
}

async function sqlOn(url: string, statements: string[], timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs })
  await client.connect()
  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function stopNode(node: CitusNode): Promise<void> {
  if (!alive(node.pid)) return
  try {
    await run('pg_ctl', ['stop', '-D', node.dataDir, '-m', 'fast', '-w', '-t', '20'], 25_000)
  } catch {
    // fall through to the kill below
  }
  if (alive(node.pid)) {
    process.kill(node.pid, 'SIGKILL')
    const deadline = Date.now() + 5_000
    while (alive(node.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Starts a Citus coordinator and `workers` workers (PostgreSQL 15) on free loopback ports, in a
 * temporary directory owned by `postgres`, with the extension created everywhere and the workers
 * added to the coordinator. Call `stop()` in `afterAll`; a crashed test process still leaves no
 * server behind (the servers get SIGKILL on exit).
 *
 * @example
 * const cluster = await startCitusCluster()
 * afterAll(() => cluster.stop())
 * const pool = new pg.Pool({ connectionString: cluster.url })
 */
export async function startCitusCluster(options: CitusClusterOptions = {}): Promise<CitusCluster> {
  const unavailable = citusUnavailable()
  if (unavailable) throw new Error(`cannot start a Citus cluster: ${unavailable}`)
  const timeoutMs = options.timeoutMs ?? 60_000
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-citus-'))
  const owner = process.getuid?.() === 0 ? postgresUser() : null
  if (owner) await chown(dir, owner.uid, owner.gid)
  const nodes: CitusNode[] = []
  const killOnExit = () => {
    for (const node of nodes) if (alive(node.pid)) process.kill(node.pid, 'SIGKILL')
  }
  process.once('exit', killOnExit)
  const stop = async () => {
    process.removeListener('exit', killOnExit)
    await Promise.all(nodes.map(stopNode))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const names = ['coordinator', ...Array.from({ length: options.workers ?? 2 }, (_, i) => `worker${i + 1}`)]
    // one after another: initdb is CPU-bound and the machine is shared
    for (const name of names) nodes.push(await startNode(dir, name, timeoutMs))
    await Promise.all(nodes.map((node) => sqlOn(node.url, ['create extension citus'], timeoutMs)))
    const [coordinator, ...workers] = nodes as [CitusNode, ...CitusNode[]]
    await sqlOn(
      coordinator.url,
      [`select citus_set_coordinator_host('127.0.0.1', ${coordinator.port})`, ...workers.map((w) => `select citus_add_node('127.0.0.1', ${w.port})`)],
      timeoutMs,
    )
    return { url: coordinator.url, coordinator, workers, stop }
  } catch (error) {
    await stop().catch(() => {})
    throw error
  }
}
