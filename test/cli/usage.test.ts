import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/run-cli.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { defineCommand } from '../../src/cli/define-command.js'

/**
 * Usage and help of every `tenantry` command, in-process through `CommandIo`. None of these reach
 * a database: a usage mistake is found before `DATABASE_URL` is read (the env is empty, so a
 * command that got that far would say "set DATABASE_URL" instead).
 */

interface CliRun {
  code: number
  out: string[]
  err: string[]
}

async function tenantry(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(args, { env, stdout: (line) => out.push(...line.split('\n')), stderr: (line) => err.push(...line.split('\n')) })
  return { code, out, err }
}

const COMMANDS = ['citus', 'lint', 'migrate', 'rls', 'seed'] as const
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
const URL_WITH_PASSWORD = 'postgres://admin:Hunter2-s3cret@db.internal:5432/app'

/** A usage error: exit 2, one line naming the mistake, then the command's synopsis; nothing on stdout. */
function expectUsageError(run: CliRun, command: string, message: string): void {
  expect(run.code).toBe(EXIT.usage)
  expect(run.out).toEqual([])
  expect(run.err[0]).toBe(`tenantry ${command}: ${message}`)
  expect(run.err[1]).toMatch(new RegExp(`^usage: tenantry ${command} `))
  // the synopsis only, not the whole option list
  expect(run.err.join('\n')).not.toContain('Reads DATABASE_URL')
}

describe('tenantry --help, --version', () => {
  it('prints the usage listing every command with exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = await tenantry(args)
      expect(run).toMatchObject({ code: EXIT.ok, err: [] })
      for (const command of COMMANDS) expect(run.out.join('\n')).toMatch(new RegExp(`^  ${command} `, 'm'))
    }
  })

  it('prints the package version with exit 0', async () => {
    expect(await tenantry(['--version'])).toEqual({ code: EXIT.ok, out: [version], err: [] })
    expect(await tenantry(['-v'])).toEqual({ code: EXIT.ok, out: [version], err: [] })
  })

  it('answers no command, an unknown command and an unknown option with exit 2 and the usage on stderr', async () => {
    const none = await tenantry([])
    expect(none.code).toBe(EXIT.usage)
    expect(none.err[0]).toBe('usage: tenantry <command> [options]')
    const unknown = await tenantry(['migrat', 'up'])
    expect(unknown.code).toBe(EXIT.usage)
    expect(unknown.err[0]).toBe('tenantry: unknown command "migrat"')
    const option = await tenantry(['--verbose'])
    expect(option.code).toBe(EXIT.usage)
    expect(option.err[0]).toBe('tenantry: unknown option --verbose')
    expect((await tenantry(['help', 'migrat'])).code).toBe(EXIT.usage)
  })
})

describe.each(COMMANDS)('tenantry %s', (command) => {
  it('prints its usage for --help, -h and `tenantry help <command>`, with exit 0', async () => {
    for (const args of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const run = await tenantry(args)
      expect(run.code).toBe(EXIT.ok)
      expect(run.err).toEqual([])
      expect(run.out[0]).toMatch(new RegExp(`^usage: tenantry ${command} `))
      expect(run.out.join('\n')).toContain('Exit codes: 0 ')
    }
  })

  it('prints its usage for --help even next to a mistake', async () => {
    const run = await tenantry([command, '--bogus', '--help'])
    expect(run.code).toBe(EXIT.ok)
    expect(run.out[0]).toMatch(new RegExp(`^usage: tenantry ${command} `))
  })

  it('names an unknown option, exit 2', async () => {
    expectUsageError(await tenantry([command, '--bogus']), command, 'unknown option --bogus')
    expectUsageError(await tenantry([command, '-x']), command, 'unknown option -x')
    expectUsageError(await tenantry([command, '--bogus=1']), command, 'unknown option --bogus')
  })

  it('names an option whose value is missing, exit 2', async () => {
    const action = command === 'rls' || command === 'citus' ? ['status'] : command === 'seed' ? ['--demo'] : []
    expectUsageError(await tenantry([command, ...action, '--schema']), command, '--schema needs a value')
    // the next option is not taken for the value
    const next = command === 'seed' ? '--reset' : command === 'migrate' ? '--dry-run' : '--schema'
    expectUsageError(await tenantry([command, ...action, '--schema', next]), command, '--schema needs a value')
    expectUsageError(await tenantry([command, ...action, '--schema', 'Bad"; --']), command, '--schema expects a lower-case SQL identifier (a-z, 0-9, _)')
  })
})

describe('usage errors of each command', () => {
  it('refuses an unexpected positional argument, exit 2', async () => {
    expectUsageError(await tenantry(['migrate', 'up', 'down']), 'migrate', 'unexpected argument "down"')
    expectUsageError(await tenantry(['rls', 'status', 'public.projects']), 'rls', 'unexpected argument "public.projects"')
    expectUsageError(await tenantry(['lint', 'public.projects']), 'lint', 'unexpected argument "public.projects"')
    expectUsageError(await tenantry(['seed', '--demo', 'northwind']), 'seed', 'unexpected argument "northwind"')
  })

  it('refuses a value given to a flag, exit 2', async () => {
    expectUsageError(await tenantry(['migrate', 'up', '--dry-run=yes']), 'migrate', '--dry-run takes no value')
    expectUsageError(await tenantry(['lint', '--json=false']), 'lint', '--json takes no value')
  })

  it('names a wrong action and options that do not go together, exit 2', async () => {
    expectUsageError(await tenantry(['migrate', 'sideways']), 'migrate', 'unknown action "sideways" (expected up, down or status)')
    expectUsageError(await tenantry(['migrate', 'up', '--all']), 'migrate', '--all goes with down')
    expectUsageError(await tenantry(['migrate', 'status', '--dry-run']), 'migrate', '--dry-run goes with up or down')
    expectUsageError(await tenantry(['rls']), 'rls', 'say what to do: enable, disable or status')
    expectUsageError(await tenantry(['rls', 'switch']), 'rls', 'unknown action "switch" (expected enable, disable or status)')
    expectUsageError(await tenantry(['citus']), 'citus', 'say what to do: distribute or status')
    expectUsageError(await tenantry(['citus', 'status', '--colocate-with', 'public.projects']), 'citus', '--colocate-with applies to distribute')
    expectUsageError(await tenantry(['rls', 'enable', '--table']), 'rls', '--table needs a value')
    expectUsageError(await tenantry(['lint', '--tenant-column', 'Org']), 'lint', '--tenant-column expects a lower-case SQL identifier (a-z, 0-9, _)')
    expectUsageError(await tenantry(['lint', '--table', 'public.projects', '--table']), 'lint', '--table needs a value')
    expectUsageError(await tenantry(['seed']), 'seed', 'say which data set to load (--demo)')
  })

  it('reads DATABASE_URL only once the command line is right: unset is a usage error in one line', async () => {
    for (const args of [['migrate'], ['rls', 'status'], ['lint'], ['seed', '--demo'], ['citus', 'status']]) {
      const run = await tenantry(args)
      expect(run.code).toBe(EXIT.usage)
      expect(run.err).toEqual([`tenantry ${args[0]}: set DATABASE_URL to the database, e.g. postgres://user:password@localhost:5432/app`])
    }
  })
})

describe('passwords in what the CLI prints', () => {
  it('masks the password of a connection string given where an argument was expected', async () => {
    const runs = [
      await tenantry([URL_WITH_PASSWORD]),
      await tenantry(['migrate', URL_WITH_PASSWORD]),
      await tenantry(['rls', 'enable', '--table', URL_WITH_PASSWORD]),
      await tenantry(['lint', `--table=${URL_WITH_PASSWORD}`]),
      await tenantry(['seed', '--demo', URL_WITH_PASSWORD]),
    ]
    for (const run of runs) {
      expect(run.code).toBe(EXIT.usage)
      expect(run.err.join('\n')).toContain('postgres://admin:***@db.internal:5432/app')
      expect(run.err.join('\n') + run.out.join('\n')).not.toContain('Hunter2')
    }
  })

  it('masks a password that holds an unencoded @', async () => {
    const run = await tenantry(['migrate', 'postgres://admin:p@ss@db/app'])
    expect(run.err[0]).toBe('tenantry migrate: unknown action "postgres://admin:***@db/app" (expected up, down or status)')
  })

  it('never prints the password of a DATABASE_URL that is not a valid URL', async () => {
    const run = await tenantry(['migrate', 'status'], { DATABASE_URL: 'postgres://admin:Hunter2-s3cret@[not-a-host/db' })
    expect(run.code).toBe(EXIT.failed)
    expect(run.err.join('\n')).not.toContain('Hunter2')
  })

  it('masks the password of DATABASE_URL in an unexpected error, raw and URL-encoded', async () => {
    const password = 'p@ss word/Hunter2'
    const failing = defineCommand({
      name: 'probe',
      usage: 'usage: tenantry probe',
      options: {},
      run: async () => {
        throw new Error(`could not use ${password} nor ${encodeURIComponent(password)}`)
      },
    })
    const err: string[] = []
    const env = { DATABASE_URL: `postgres://admin:${encodeURIComponent(password)}@127.0.0.1:5432/app` }
    const code = await failing([], { env, stdout: () => {}, stderr: (line) => err.push(line) })
    expect(code).toBe(EXIT.failed)
    expect(err).toEqual(['tenantry probe: could not use *** nor ***'])
  })

  it('keeps its own words when the password is one of them', async () => {
    const run = await tenantry(['migrate', '--bogus'], { DATABASE_URL: 'postgres://tenantry:tenantry@127.0.0.1:5432/tenantry' })
    expect(run.err.slice(0, 2)).toEqual([
      'tenantry migrate: unknown option --bogus',
      'usage: tenantry migrate [up|down|status] [--schema <name>] [--dry-run] [--all]',
    ])
  })
})
