import { readFileSync } from 'node:fs'
import { EXIT, type CliCommand, type CommandIo } from './command-io.js'
import { runCitusCommand } from './commands/citus.js'
import { runLintCommand } from './commands/lint.js'
import { runMigrateCommand } from './commands/migrate.js'
import { runRlsCommand } from './commands/rls.js'
import { runSeedCommand } from './commands/seed.js'

/**
 * The subcommands of `tenantry`. A new one is a file in `commands/` exporting
 * `(argv, io) => Promise<exitCode>`, plus a line here and in USAGE.
 */
const COMMANDS: Record<string, CliCommand> = {
  citus: runCitusCommand,
  lint: runLintCommand,
  migrate: runMigrateCommand,
  rls: runRlsCommand,
  seed: runSeedCommand,
}

export const USAGE = `usage: tenantry <command> [options]

  citus distribute|status          distribute tables on a Citus cluster, or show where they live
  lint [--table schema.table ...]  unsafe keys, indexes and policies, with the SQL to fix them (1: findings)
  migrate [up|down|status]         apply, undo or list tenantry's migrations
  rls enable|disable|status        row-level security on tenantry's (and your) tables
  seed --demo                      load the demo data set

Every command reads DATABASE_URL. Run \`tenantry <command> --help\` for its options.
\`tenantry --version\` prints the package version.
Exit codes: 0 done, 1 failed, 2 usage (rls status: 3 when not enabled; citus status: 3 when not distributed).`

/**
 * Runs `tenantry <command> ...` and returns the exit code. Never throws: an unexpected error is
 * reported as one line, without a stack trace.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ;(name === undefined ? io.stderr : io.stdout)(USAGE)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '--version' || name === '-v') {
    io.stdout(packageVersion())
    return EXIT.ok
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!command) {
    io.stderr(`tenantry: unknown command "${name}"`)
    io.stderr(USAGE)
    return EXIT.usage
  }
  try {
    return await command(rest, io)
  } catch (error) {
    io.stderr(`tenantry ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return EXIT.error
  }
}

function packageVersion(): string {
  // src/cli/ and dist/cli/ are both two levels below package.json
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
