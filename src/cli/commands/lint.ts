import { isTenantryError } from '../../errors/tenantry-error.js'
import { lintSchema } from '../../lint/lint-schema.js'
import type { LintResult, LintTarget } from '../../lint/lint-types.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import type { CommandIo } from '../command-io.js'
import { openCommandDatabase } from '../command-database.js'
import { describeDatabaseError, readDatabaseTarget } from '../database-url.js'
import { defineCommand } from '../define-command.js'
import { EXIT } from '../exit-codes.js'
import { identifierOption, tableOptions } from '../sql-name-options.js'

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

/**
 * The `--table` options as lint targets: a table named without `:column` gets `--tenant-column`.
 */
function targetsOf(tables: readonly string[] | undefined, tenantColumn: string): LintTarget[] {
  return tableOptions(tables).map((target, i) => ({
    schema: target.schema,
    table: target.table,
    tenantColumn: tables![i]!.includes(':') ? target.tenantColumn : tenantColumn,
    kind: 'declared',
  }))
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
 * `tenantry lint [--table schema.table ...]`. Returns the exit code: 0 no findings, 1 findings
 * (`EXIT.findings`) or a failure, 2 usage.
 *
 * @example
 * process.exitCode = await runLintCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export const runLintCommand = defineCommand({
  name: 'lint',
  usage: LINT_USAGE,
  options: {
    table: { type: 'string', multiple: true },
    'tenant-column': { type: 'string' },
    schema: { type: 'string' },
    rls: { type: 'boolean' },
    citus: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values }, io) {
    const tenantColumn = identifierOption(values['tenant-column'], '--tenant-column', 'tenant_id')
    const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)
    const targets = targetsOf(values.table, tenantColumn)

    const target = readDatabaseTarget('lint', io)
    if (typeof target === 'number') return target
    const db = openCommandDatabase(target)
    try {
      const result = await lintSchema(db, {
        schema,
        targets,
        bundled: true,
        discoverByColumn: tenantColumn,
        defaultTenantColumn: tenantColumn,
        rls: values.rls === true ? true : 'auto',
        citus: values.citus === true ? true : 'auto',
      })
      if (values.json) io.stdout(JSON.stringify(result, null, 2))
      else printResult(result, io)
      return result.ok ? EXIT.ok : EXIT.findings
    } catch (error) {
      // A --table that names no table (or a missing tenant column) is the caller's to fix: usage.
      if (isTenantryError(error) && error.code === 'CONFIGURATION') {
        io.stderr(`tenantry ${error.message}`)
        return EXIT.usage
      }
      io.stderr(`tenantry lint: ${isTenantryError(error) ? error.message : describeDatabaseError(error, target)}`)
      return EXIT.failed
    } finally {
      await db.destroy()
    }
  },
})
