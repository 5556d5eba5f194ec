import type { MigrationResult } from 'kysely/migration'
import pg from 'pg'
import { DEFAULT_SCHEMA, migrate, migrationStatus, type MigrateOptions } from '../../migration/migrate.js'
import { planMigrations } from '../../migration/migration-plan.js'
import { UsageError } from '../command-args.js'
import type { CommandIo } from '../command-io.js'
import { describeDatabaseError, readDatabaseTarget, redact, type DatabaseUrl } from '../database-url.js'
import { defineCommand } from '../define-command.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import { identifierOption } from '../sql-name-options.js'

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
}

const ACTIONS = ['up', 'down', 'status'] as const

/**
 * `tenantry migrate [up|down|status] [--schema S] [--dry-run] [--all]` against `DATABASE_URL`.
 * Returns the exit code; every failure is one line on stderr.
 *
 * @example
 * process.exitCode = await runMigrateCommand(['status'], { env: process.env, stdout: console.log, stderr: console.error })
 */
export const runMigrateCommand = defineCommand({
  name: 'migrate',
  usage: MIGRATE_USAGE,
  options: {
    schema: { type: 'string' },
    'dry-run': { type: 'boolean' },
    all: { type: 'boolean' },
  },
  positionals: 1,
  async run({ values, positionals }, io) {
    const action = positionals[0] ?? 'up'
    if (!isAction(action)) throw new UsageError(`unknown action "${action}" (expected up, down or status)`)
    const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)
    if (values.all && action !== 'down') throw new UsageError('--all goes with down')
    if (values['dry-run'] && action === 'status') throw new UsageError('--dry-run goes with up or down')
    const args: MigrateArgs = { action, schema, dryRun: values['dry-run'] === true, all: values.all === true }

    const target = readDatabaseTarget('migrate', io)
    if (typeof target === 'number') return target
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
      return EXIT.failed
    } finally {
      await pool.end().catch(() => {})
    }
  },
})

function isAction(action: string): action is MigrateArgs['action'] {
  return (ACTIONS as readonly string[]).includes(action)
}

async function printStatus(options: MigrateOptions, target: DatabaseUrl, io: CommandIo): Promise<ExitCode> {
  const status = await migrationStatus(options)
  const width = Math.max(...status.map((m) => m.name.length), 'migration'.length)
  io.stdout(`${'migration'.padEnd(width)}  applied`)
  for (const m of status) io.stdout(`${m.name.padEnd(width)}  ${m.appliedAt?.toISOString() ?? 'pending'}`)
  const applied = status.filter((m) => m.appliedAt !== null).length
  io.stdout(`${applied} applied, ${status.length - applied} pending (schema "${options.schema}" on ${target.label})`)
  return EXIT.ok
}

async function printPlan(options: MigrateOptions, args: MigrateArgs, io: CommandIo): Promise<ExitCode> {
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

async function run(options: MigrateOptions, args: MigrateArgs, target: DatabaseUrl, io: CommandIo): Promise<ExitCode> {
  const started = performance.now()
  const { results, error } = await migrate(options)
  if (error !== undefined) {
    // The run was one transaction: nothing in it stayed applied, so no ✓ lines that would say otherwise.
    const failed = results.find((r) => r.status === 'Error')
    io.stderr(`tenantry migrate ${args.action}: ${failed ? describeMigrationError(error, failed, target) : describeDatabaseError(error, target)}`)
    return EXIT.failed
  }
  for (const r of results) io.stdout(`✓ ${r.migrationName} (${r.direction.toLowerCase()})`)
  const ms = Math.round(performance.now() - started)
  const where = `schema "${options.schema}"`
  io.stdout(
    results.length === 0
      ? args.action === 'down'
        ? `nothing to undo (${where})`
        : `already up to date (${where})`
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
  return redact(
    `${failed.migrationName} failed, so the run was rolled back and nothing changed: ${String(message)}${more}${sqlState} [${target.label}]`,
    target.password,
  )
}
