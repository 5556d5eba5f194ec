import { parseCommandArgs, UsageError, type CommandArgs, type OptionsSpec } from './command-args.js'
import type { CliCommand, CommandIo } from './command-io.js'
import { parseDatabaseUrl, redact, redactUrlPasswords } from './database-url.js'
import { EXIT, type ExitCode } from './exit-codes.js'

export interface CommandDefinition<O extends OptionsSpec> {
  /** The word after `tenantry`; every message of the command starts with `tenantry <name>:`. */
  name: string
  /** Printed by `--help`. Its first paragraph (up to the first blank line) is the synopsis shown after a usage error. */
  usage: string
  /** The options, as `node:util` `parseArgs` takes them; `--help`/`-h` is added. */
  options: O
  /** How many arguments that are not options the command takes (`migrate [up|down|status]`: 1). Default 0. */
  positionals?: number
  /** Runs the parsed command. Throws `UsageError` for a mistake in the command line it finds itself. */
  run: (args: CommandArgs<O>, io: CommandIo) => Promise<ExitCode>
}

/**
 * Makes a `tenantry <name>` command: the one place that parses arguments, answers `--help`, turns
 * a usage mistake into one line naming it plus the synopsis (exit 2), and keeps passwords out of
 * what it echoes.
 *
 * @example
 * export const runHelloCommand = defineCommand({
 *   name: 'hello',
 *   usage: 'usage: tenantry hello [--loud]',
 *   options: { loud: { type: 'boolean' } },
 *   run: async ({ values }, io) => (io.stdout(values.loud ? 'HELLO' : 'hello'), EXIT.ok),
 * })
 */
export function defineCommand<O extends OptionsSpec>(definition: CommandDefinition<O>): CliCommand {
  const { name, usage } = definition
  return async (argv, io) => {
    try {
      const args = parseCommandArgs(argv, definition.options, definition.positionals ?? 0)
      if (args.help) {
        io.stdout(usage)
        return EXIT.ok
      }
      return await definition.run({ values: args.values, positionals: args.positionals }, io)
    } catch (error) {
      if (error instanceof UsageError) {
        // A usage error may echo an argument, and a user may have pasted a connection string.
        io.stderr(`tenantry ${name}: ${withoutPasswords(error.message, io.env)}`)
        io.stderr(synopsisOf(usage))
        return EXIT.usage
      }
      // Commands report the failures they expect; this is the rest, still one line, no stack trace.
      io.stderr(`tenantry ${name}: ${withoutPasswords(error instanceof Error ? error.message : String(error), io.env)}`)
      return EXIT.failed
    }
  }
}

/** The first paragraph of a usage text: the `usage:` line(s), without the option list. */
export function synopsisOf(usage: string): string {
  return usage.split(/\n\s*\n/)[0]!
}

/**
 * A message from elsewhere (an echoed argument, an unexpected error) with the password of any
 * `scheme://user:password@` in it and the password of `DATABASE_URL` masked. Only such messages:
 * masking whole lines would also hit the command's own words when the password is a common one
 * (`tenantry`), and the lines a command composes itself name the target by `host:port/database`.
 *
 * @example
 * io.stderr(`tenantry migrate: ${withoutPasswords(error.message, io.env)}`)
 */
export function withoutPasswords(message: string, env: CommandIo['env']): string {
  const target = parseDatabaseUrl(env)
  return redact(redactUrlPasswords(message), typeof target === 'string' ? undefined : target.password)
}
