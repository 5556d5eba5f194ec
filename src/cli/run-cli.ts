import { readFileSync } from 'node:fs'
import { parseCommandArgs, UsageError } from './command-args.js'
import type { CliCommand, CommandIo } from './command-io.js'
import { runCitusCommand } from './commands/citus.js'
import { runLintCommand } from './commands/lint.js'
import { runMigrateCommand } from './commands/migrate.js'
import { runRlsCommand } from './commands/rls.js'
import { runSeedCommand } from './commands/seed.js'
import { withoutPasswords } from './define-command.js'
import { EXIT, type ExitCode } from './exit-codes.js'

/**
 * The subcommands of `tenantry`. A new one is a file in `commands/` exporting the result of
 * `defineCommand(...)`, plus a line here and in USAGE.
 */
const COMMANDS: Record<string, CliCommand> = {
  citus: runCitusCommand,
  lint: runLintCommand,
  migrate: runMigrateCommand,
  rls: runRlsCommand,
  seed: runSeedCommand,
}

export const USAGE = `usage: tenantry <command> [options]
       tenantry --help | --version

  citus distribute|status          distribute tables on a Citus cluster, or show where they live
  lint [--table schema.table ...]  unsafe keys, indexes and policies, with the SQL to fix them (1: findings)
  migrate [up|down|status]         apply, undo or list tenantry's migrations
  rls enable|disable|status        row-level security on tenantry's (and your) tables
  seed --demo                      load the demo data set

Every command reads DATABASE_URL. Run \`tenantry <command> --help\` (or \`tenantry help <command>\`)
for its options. \`tenantry --version\` prints the package version.
Exit codes: 0 done, 1 failed (lint: findings), 2 usage, 3 rls status: not enabled, citus status: not distributed.`

/**
 * Runs `tenantry <command> ...` and returns the exit code. Never throws: an unexpected error is
 * reported as one line, without a stack trace.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runCli(argv: string[], io: CommandIo): Promise<ExitCode> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr(USAGE)
    return EXIT.usage
  }
  if (name.startsWith('-')) return runTopLevelOptions(argv, io)
  if (name === 'help') {
    const topic = rest[0]
    if (topic === undefined) {
      io.stdout(USAGE)
      return EXIT.ok
    }
    return commandNamed(topic, io)?.(['--help'], io) ?? EXIT.usage
  }
  const command = commandNamed(name, io)
  if (!command) return EXIT.usage
  try {
    return await command(rest, io)
  } catch (error) {
    // defineCommand already turns every failure into a line; this is the last guard.
    io.stderr(`tenantry ${name}: ${withoutPasswords(error instanceof Error ? error.message : String(error), io.env)}`)
    return EXIT.failed
  }
}

/** `tenantry --help`, `tenantry --version`, and a usage error for anything else before a command. */
function runTopLevelOptions(argv: string[], io: CommandIo): ExitCode {
  try {
    const args = parseCommandArgs(argv, { version: { type: 'boolean', short: 'v' } }, 0)
    if (args.values.version && !args.help) {
      io.stdout(packageVersion())
      return EXIT.ok
    }
    io.stdout(USAGE)
    return EXIT.ok
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr(`tenantry: ${withoutPasswords(error.message, io.env)}`)
    io.stderr(USAGE)
    return EXIT.usage
  }
}

function commandNamed(name: string, io: CommandIo): CliCommand | undefined {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (!command) {
    io.stderr(`tenantry: unknown command "${withoutPasswords(name, io.env)}"`)
    io.stderr(USAGE)
  }
  return command
}

function packageVersion(): string {
  // src/cli/ and dist/cli/ are both two levels below package.json
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
