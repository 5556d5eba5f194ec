import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { lintSchema } from '../../lint/lint-schema.js'
import type { LintResult, LintTarget } from '../../lint/lint-types.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { parseTableArgument } from '../../rls/rls-targets.js'
import type { CommandIo } from '../command-io.js'
import { describeDatabaseError, parseDatabaseUrl } from '../database-url.js'

/** Exit codes: 0 no findings, 1 findings (or the database failed), 2 usage. */
export const LINT_EXIT = { clean: 0, findings: 1, usage: 2 } as const

export const LINT_USAGE = `usage: tenantry lint [--table schema.table[:tenant_column] ...] [--tenant-column tenant_id]
                     [--schema tenantry] [--rls] [--citus] [--json]

  Lints tenantry's tenant tables and every table outside the system schemas that has the tenant
  column (or tenantry's tenant policy), plus each --table: foreign keys without the tenant column,
  tables without an index led by it, unique keys without it or not partial on live rows, and with
  --rls tables without tenantry's policies or FORCE. Prints each finding with the SQL that fixes it.

  --table          also lint this table (schema defaults to public, tenant column to --tenant-column)
  --tenant-column  the tenant column to look for (default tenant_id)
  --schema         schema of tenantry's tables (default tenantry)
  --rls            check row-level security (default: when it is enabled on tenantry's tables)
  --citus          check what Citus needs to distribute by tenant (default: when citus is installed)
  --json           print the result as JSON

Reads DATABASE_URL. Exit codes: 0 no findings, 1 findings or a database failure, 2 usage.`

interface ParsedArgs {
  tables: { value: string; hasColumn: boolean }[]
  tenantColumn: string
  schema: string
  rls: boolean | 'auto'
  citus: boolean | 'auto'
  json: boolean
}

const IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/

function parseArgs(argv: string[]): ParsedArgs | string {
  const parsed: ParsedArgs = { tables: [], tenantColumn: 'tenant_id', schema: DEFAULT_SCHEMA, rls: 'auto', citus: 'auto', json: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--rls') parsed.rls = true
    else if (arg === '--citus') parsed.citus = true
    else if (arg === '--json') parsed.json = true
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
      if (name !== '--table' && name !== '--tenant-column' && name !== '--schema') return `unknown option ${name}`
      const value = inline ?? argv[++i]
      if (value === undefined || value.startsWith('--')) return `${name} needs a value`
      if (name === '--table') parsed.tables.push({ value, hasColumn: value.includes(':') })
      else if (!IDENTIFIER.test(value)) return `${name} expects a lower-case SQL identifier`
      else if (name === '--tenant-column') parsed.tenantColumn = value
      else parsed.schema = value
    } else return `unexpected argument "${arg}"`
  }
  return parsed
}

function targetsOf(parsed: ParsedArgs): LintTarget[] {
  return parsed.tables.map(({ value, hasColumn }) => {
    const target = parseTableArgument(value)
    return { schema: target.schema, table: target.table, tenantColumn: hasColumn ? target.tenantColumn : parsed.tenantColumn, kind: 'declared' }
  })
}

function printResult(result: LintResult, io: CommandIo): void {
  // One key can be both global and not partial: its fix is printed once.
  const printed = new Map<string, string>()
  for (const finding of result.findings) {
    io.stdout(`${finding.code}  ${finding.table}${finding.constraint ? `  ${finding.constraint}` : ''}`)
    io.stdout(`  ${finding.message}`)
    const same = printed.get(finding.fix)
    if (same) io.stdout(`  fix: the same as for ${same} above`)
    else {
      io.stdout(`  fix:`)
      for (const line of finding.fix.split('\n')) io.stdout(`    ${line}`)
      printed.set(finding.fix, finding.code)
    }
    io.stdout('')
  }
  for (const finding of result.accepted) {
    io.stdout(`accepted: ${finding.code} ${finding.table} ${finding.constraint ?? ''}: ${finding.reason}`)
  }
  const checks = [result.checks.rls ? 'row-level security' : '', result.checks.citus ? 'citus' : ''].filter(Boolean)
  const scope = `${result.tables.length} table${result.tables.length === 1 ? '' : 's'}${checks.length ? ` (with ${checks.join(' and ')} checks)` : ''}`
  io.stdout(
    result.ok
      ? `no findings in ${scope}`
      : `${result.findings.length} finding${result.findings.length === 1 ? '' : 's'} in ${new Set(result.findings.map((f) => f.table)).size} of ${scope}`,
  )
}

/**
 * `tenantry lint [--table schema.table ...]`. Returns the exit code.
 *
 * @example
 * process.exitCode = await runLintCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runLintCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(LINT_USAGE)
    return LINT_EXIT.clean
  }
  let parsed: ParsedArgs | string
  let targets: LintTarget[] = []
  try {
    parsed = parseArgs(argv)
    if (typeof parsed !== 'string') targets = targetsOf(parsed)
  } catch (error) {
    parsed = error instanceof Error ? error.message : String(error)
  }
  if (typeof parsed === 'string') {
    io.stderr(`tenantry lint: ${parsed}`)
    io.stderr(LINT_USAGE)
    return LINT_EXIT.usage
  }
  const target = parseDatabaseUrl(io.env)
  if (typeof target === 'string') {
    io.stderr(`tenantry lint: ${target}`)
    return io.env.DATABASE_URL ? LINT_EXIT.findings : LINT_EXIT.usage
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 1 })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    const result = await lintSchema(db, {
      schema: parsed.schema,
      targets,
      bundled: true,
      discoverByColumn: parsed.tenantColumn,
      defaultTenantColumn: parsed.tenantColumn,
      rls: parsed.rls,
      citus: parsed.citus,
    })
    if (parsed.json) io.stdout(JSON.stringify(result, null, 2))
    else printResult(result, io)
    return result.ok ? LINT_EXIT.clean : LINT_EXIT.findings
  } catch (error) {
    // A --table that names no table (or a missing tenant column) is the caller's to fix: usage.
    if (isTenantryError(error) && error.code === 'CONFIGURATION') {
      io.stderr(`tenantry ${error.message}`)
      return LINT_EXIT.usage
    }
    io.stderr(`tenantry lint: ${isTenantryError(error) ? error.message : describeDatabaseError(error, target)}`)
    return LINT_EXIT.findings
  } finally {
    await db.destroy()
  }
}
