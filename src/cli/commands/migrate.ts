import { parseArgs } from 'node:util'
import type { MigrationResult } from 'kysely/migration'
import pg from 'pg'
import { DEFAULT_SCHEMA, migrate, migrationStatus, type MigrateOptions } from '../../migration/migrate.js'
import { planMigrations } from '../../migration/migration-plan.js'
import { EXIT, type CommandIo } from '../command-io.js'
import { describeDatabaseError, parseDatabaseUrl, redact, type DatabaseUrl } from '../database-url.js'

export const MIGRATE_USAGE = `usage: tenantry migrate [up|down|status] [--schema <name>] [--dry-run] [--all]

  up       apply every pending migration (the default)
  down     undo the last applied migration; with --all, undo every one (drops tenantry's tables)
  status   list applied and pending migrations

  --schema   Postgres schema of tenantry's tables (default: ${DEFAULT_SCHEMA})
  --dry-run  print the SQL that up/down would run, run nothing
  --all      with down: undo every migration

Reads DATABASE_URL. Exit codes: 0 done, 1 failed, 2 usage.`

interface MigrateArgs {
  action: 'up' | 'down' | 'status'
  schema: string
  dryRun: boolean
  all: boolean
  help: boolean
}

function parseMigrateArgs(argv: string[]): MigrateArgs | string {
  let parsed: ReturnType<typeof parseWith>
  try {
    parsed = parseWith(argv)
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  const { values, positionals } = parsed
  if (positionals.length > 1) return `one action at a time (got ${positionals.join(' ')})`
  const action = positionals[0] ?? 'up'
  if (action !== 'up' && action !== 'down' && action !== 'status') return `unknown action "${action}"`
  const schema = values.schema ?? DEFAULT_SCHEMA
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) return '--schema expects a lower-case SQL identifier (a-z, 0-9, _)'
  if (values.all && action !== 'down') return '--all goes with down'
  if (values['dry-run'] && action === 'status') return '--dry-run goes with up or down'
  return { action, schema, dryRun: values['dry-run'] === true, all: values.all === true, help: values.help === true }
}

function parseWith(argv: string[]) {
  return parseArgs({
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
}

/**
 * `tenantry migrate [up|down|status] [--schema S] [--dry-run] [--all]` against `DATABASE_URL`.
 * Returns the exit code; every failure is one line on stderr.
 *
 * @example
 * process.exitCode = await runMigrateCommand(['status'], { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runMigrateCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(MIGRATE_USAGE)
    return EXIT.ok
  }
  const args = parseMigrateArgs(argv)
  if (typeof args === 'string') {
    io.stderr(`tenantry migrate: ${args}`)
    io.stderr(MIGRATE_USAGE)
    return EXIT.usage
  }
  const target = parseDatabaseUrl(io.env)
  if (typeof target === 'string') {
    io.stderr(`tenantry migrate: ${target}`)
    // an unset DATABASE_URL is a usage error; one that is set but unusable is a failure
    return io.env.DATABASE_URL ? EXIT.error : EXIT.usage
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 2, connectionTimeoutMillis: 10_000 })
  // An idle client dropped by the server must not crash the process with an unhandled 'error'.
  pool.on('error', () => {})
  try {
    const options: MigrateOptions = { pool, schema: args.schema, direction: args.action === 'down' ? 'down' : 'latest', all: args.all }
    if (args.action === 'status') return await printStatus(options, target, io)
    if (args.dryRun) return await printPlan(options, args, io)
    return await run(options, args, target, io)
  } catch (error) {
    io.stderr(`tenantry migrate ${args.action}: ${describeDatabaseError(error, target)}`)
    return EXIT.error
  } finally {
    await pool.end().catch(() => {})
  }
}

async function printStatus(options: MigrateOptions, target: DatabaseUrl, io: CommandIo): Promise<number> {
  const status = await migrationStatus(options)
  const width = Math.max(...status.map((m) => m.name.length), 'migration'.length)
  io.stdout(`${'migration'.padEnd(width)}  applied`)
  for (const m of status) io.stdout(`${m.name.padEnd(width)}  ${m.appliedAt?.toISOString() ?? 'pending'}`)
  const applied = status.filter((m) => m.appliedAt !== null).length
  io.stdout(`${applied} applied, ${status.length - applied} pending (schema "${options.schema}" on ${target.label})`)
  return EXIT.ok
}

async function printPlan(options: MigrateOptions, args: MigrateArgs, io: CommandIo): Promise<number> {
  const plan = await planMigrations(options)
  // Every line that is not SQL is a comment, so the output can be saved and reviewed as a script.
  io.stdout(`-- tenantry migrate ${args.action} --dry-run: ${plan.length} migration(s) in schema "${options.schema}"; nothing was run`)
  if (plan.length > 0) {
    io.stdout(`-- running this by hand would not record it in "${options.schema}".tenantry_migration; use tenantry migrate ${args.action}`)
  }
  for (const step of plan) {
    io.stdout(`\n-- ${step.name} (${step.direction})`)
    io.stdout(step.sql.trimEnd())
  }
  return EXIT.ok
}

async function run(options: MigrateOptions, args: MigrateArgs, target: DatabaseUrl, io: CommandIo): Promise<number> {
  const started = performance.now()
  const { results, error } = await migrate(options)
  if (error !== undefined) {
    // The run was one transaction: nothing in it stayed applied, so no ✓ lines that would say otherwise.
    const failed = results.find((r) => r.status === 'Error')
    io.stderr(`tenantry migrate ${args.action}: ${failed ? describeMigrationError(error, failed, target) : describeDatabaseError(error, target)}`)
    return EXIT.error
  }
  for (const r of results) io.stdout(`✓ ${r.migrationName} (${r.direction.toLowerCase()})`)
  const ms = Math.round(performance.now() - started)
  const where = `schema "${options.schema}"`
  io.stdout(
    results.length === 0
      ? args.action === 'down' ? `nothing to undo (${where})` : `already up to date (${where})`
      : `${args.action === 'down' ? 'undid' : 'applied'} ${results.length} migration(s) in ${where} (${ms} ms)`,
  )
  return EXIT.ok
}

/**
 * A migration's own SQL failed (a missing privilege, a host object depending on ours). The
 * server's message names objects, not row values, and is what the user needs to act on.
 */
function describeMigrationError(error: unknown, failed: MigrationResult, target: DatabaseUrl): string {
  const { code, message, detail } = error as { code?: unknown; message?: unknown; detail?: unknown }
  const sqlState = typeof code === 'string' ? ` (SQLSTATE ${code})` : ''
  // 2BP01 "cannot drop ... because other objects depend on it": the detail names those objects.
  const more = code === '2BP01' && typeof detail === 'string' ? `: ${detail.replaceAll('\n', '; ')}` : ''
  return redact(`${failed.migrationName} failed, so the run was rolled back and nothing changed: ${String(message)}${more}${sqlState} [${target.label}]`, target.password)
}
