import { parseArgs } from 'node:util'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { DEFAULT_SCHEMA, bundledMigrations, migrate, migrationStatus } from '../../migration/migrate.js'
import { renderMigrationSql } from '../../migration/sql-migration-provider.js'
import { checkDatabaseUrl, describeDatabaseFailure, type CommandIo } from '../command-io.js'

/** Exit codes: 0 done, 1 failure, 2 usage. */
export const MIGRATE_EXIT = { ok: 0, error: 1, usage: 2 } as const

export const MIGRATE_USAGE = `usage: tenantry migrate [up|down|status] [--schema <name>] [--dry-run] [--all]

  up        apply every pending migration (the default)
  down      undo the last applied migration (--all: every one)
  status    list applied and pending migrations

  --schema   Postgres schema of tenantry's tables (default: tenantry)
  --dry-run  print the SQL that would run, run nothing
  --all      with down: undo every migration

Reads DATABASE_URL. Safe to run from several processes at once (advisory lock).`

/**
 * `tenantry migrate up|down|status`. Returns the exit code.
 *
 * @example
 * process.exitCode = await runMigrateCommand(['status'], { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runMigrateCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed: MigrateArgs
  try {
    parsed = parseMigrateArgs(argv)
  } catch (error) {
    io.stderr(`tenantry migrate: ${error instanceof Error ? error.message : String(error)}`)
    io.stderr(MIGRATE_USAGE)
    return MIGRATE_EXIT.usage
  }
  if (parsed.help) {
    io.stdout(MIGRATE_USAGE)
    return MIGRATE_EXIT.ok
  }
  const urlProblem = checkDatabaseUrl(io.env.DATABASE_URL)
  if (urlProblem) {
    io.stderr(`tenantry migrate: ${urlProblem}`)
    return urlProblem.startsWith('set ') ? MIGRATE_EXIT.usage : MIGRATE_EXIT.error
  }
  const pool = new pg.Pool({ connectionString: io.env.DATABASE_URL, max: 1, connectionTimeoutMillis: 10_000 })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    return await run(parsed, db, io)
  } catch (error) {
    io.stderr(`tenantry migrate ${parsed.action}: ${describeDatabaseFailure(error)}`)
    return MIGRATE_EXIT.error
  } finally {
    await db.destroy()
  }
}

interface MigrateArgs {
  action: 'up' | 'down' | 'status'
  schema: string
  dryRun: boolean
  all: boolean
  help: boolean
}

function parseMigrateArgs(argv: string[]): MigrateArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      schema: { type: 'string' },
      'dry-run': { type: 'boolean' },
      all: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  })
  const [action = 'up', ...extra] = positionals
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}"`)
  if (action !== 'up' && action !== 'down' && action !== 'status') throw new Error(`unknown action "${action}"`)
  const schema = values.schema ?? DEFAULT_SCHEMA
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('--schema expects a lower-case SQL identifier')
  if (values.all && action !== 'down') throw new Error('--all goes with down')
  return { action, schema, dryRun: values['dry-run'] ?? false, all: values.all ?? false, help: values.help ?? false }
}

async function run(args: MigrateArgs, db: Kysely<any>, io: CommandIo): Promise<number> {
  const status = await migrationStatus({ db, schema: args.schema })
  if (args.action === 'status') {
    const width = Math.max(...status.map((m) => m.name.length), 9)
    io.stdout(`${'migration'.padEnd(width)}  applied`)
    for (const m of status) io.stdout(`${m.name.padEnd(width)}  ${m.appliedAt ? m.appliedAt.toISOString() : 'pending'}`)
    const pending = status.filter((m) => !m.appliedAt).length
    io.stdout(`${status.length - pending} applied, ${pending} pending (schema "${args.schema}")`)
    return MIGRATE_EXIT.ok
  }
  if (args.dryRun) {
    const sources = new Map((await bundledMigrations()).map((m) => [m.name, m]))
    const applied = status.filter((m) => m.appliedAt)
    const chosen =
      args.action === 'up'
        ? status.filter((m) => !m.appliedAt)
        : args.all
          ? [...applied].reverse()
          : applied.slice(-1)
    if (chosen.length === 0) io.stdout(`-- nothing to run (${args.action})`)
    for (const m of chosen) {
      const source = sources.get(m.name)!
      io.stdout(`-- ${m.name} (${args.action})`)
      io.stdout(renderMigrationSql(args.action === 'up' ? source.up : source.down, args.schema).trimEnd())
    }
    return MIGRATE_EXIT.ok
  }
  const { results, error } = await migrate({ db, schema: args.schema, direction: args.action, all: args.all })
  for (const r of results) io.stdout(`${r.status === 'Success' ? '✓' : r.status === 'Error' ? '✗' : '-'} ${r.migrationName} (${r.direction.toLowerCase()})`)
  if (error) {
    io.stderr(`tenantry migrate ${args.action}: ${describeDatabaseFailure(error)}`)
    return MIGRATE_EXIT.error
  }
  if (results.length === 0) io.stdout(args.action === 'up' ? 'already up to date' : 'nothing to undo')
  return MIGRATE_EXIT.ok
}
