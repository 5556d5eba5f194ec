import { parseArgs } from 'node:util'

/** One option of a command, in the shape `node:util` `parseArgs` takes. */
export type OptionSpec = { type: 'boolean'; short?: string } | { type: 'string'; short?: string; multiple?: boolean }

/** The options of a command, by long name (`'dry-run'` for `--dry-run`). */
export type OptionsSpec = Record<string, OptionSpec>

/** The parsed value of each option: `string[]` for a repeatable one, absent when not given. */
export type OptionValues<O extends OptionsSpec> = {
  [K in keyof O]?: O[K] extends { type: 'string'; multiple: true } ? string[] : O[K] extends { type: 'string' } ? string : boolean
}

export interface CommandArgs<O extends OptionsSpec> {
  values: OptionValues<O>
  positionals: string[]
}

/**
 * The command line is wrong: the message names the option or argument (never what a database
 * holds). Commands throw it from their own checks too (`unknown action "sideways"`); the caller
 * prints it with the command's usage and exits 2.
 */
export class UsageError extends Error {
  override name = 'UsageError'
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const satisfies OptionsSpec

/**
 * Parses a command's arguments with `node:util` `parseArgs`, strictly against `options` (plus
 * `--help`/`-h`), allowing at most `maxPositionals` arguments that are not options. `--help`
 * anywhere before `--` wins over every other mistake, as a user asking for help needs it most then.
 *
 * @example
 * const args = parseCommandArgs(['down', '--all'], { all: { type: 'boolean' } }, 1)
 * // { help: false, values: { all: true }, positionals: ['down'] }
 */
export function parseCommandArgs<O extends OptionsSpec>(argv: readonly string[], options: O, maxPositionals: number): CommandArgs<O> & { help: boolean } {
  const end = argv.indexOf('--')
  const beforeEnd = end === -1 ? argv : argv.slice(0, end)
  if (beforeEnd.includes('--help') || beforeEnd.includes('-h')) return { help: true, values: {}, positionals: [] }
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, ...HELP }, strict: true, allowPositionals: true })
  } catch (error) {
    throw new UsageError(describeParseError(argv, options, error))
  }
  const extra = parsed.positionals[maxPositionals]
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`)
  const { help: _help, ...values } = parsed.values
  return { help: false, values: values as OptionValues<O>, positionals: parsed.positionals }
}

/**
 * Names what `parseArgs` refused, in the CLI's own words: node's messages differ between versions
 * and suggest `--` tricks that do not apply here. A lenient pass over the same arguments finds the
 * first offending token.
 */
function describeParseError(argv: readonly string[], options: OptionsSpec, error: unknown): string {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined
    if (!option) return `unknown option ${token.rawName}`
    if (option.type === 'boolean' && token.value !== undefined) return `${token.rawName} takes no value`
    // `--table --schema x`: a lenient parse takes `--schema` as the value; strict mode refuses it.
    if (option.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.length > 1 && token.value.startsWith('-')))) {
      return `${token.rawName} needs a value`
    }
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!
}
