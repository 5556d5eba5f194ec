import { isTenantryError } from '../../errors/tenantry-error.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { disableRowLevelSecurity, enableRowLevelSecurity, rowLevelSecurityStatus, type RlsStatus } from '../../rls/rls-admin.js'
import { UsageError } from '../command-args.js'
import type { CommandIo } from '../command-io.js'
import { openCommandDatabase } from '../command-database.js'
import { describeDatabaseError, readDatabaseTarget } from '../database-url.js'
import { defineCommand } from '../define-command.js'
import { EXIT } from '../exit-codes.js'
import { identifierOption, tableOptions } from '../sql-name-options.js'

export const RLS_USAGE = `usage: tenantry rls enable|disable|status [--table schema.table[:tenant_column] ...] [--schema tenantry]

  enable   install the policies and ENABLE + FORCE row-level security on the bundled tables
           and every --table (run it as the tables' owner, e.g. the migration role)
  disable  NO FORCE + DISABLE row-level security (policies stay, inert)
  status   print each table's state; exit 0 when enabled everywhere, 3 otherwise

Each action also covers every table that already carries tenantry's policies (enabled from code,
or by an earlier --table), so \`status\` and \`disable\` need no --table for those.
--table defaults the schema to public and the tenant column to tenant_id; repeat it for more tables.
Reads DATABASE_URL. Exit codes: 0 done (status: enabled), 1 failed, 2 usage, 3 status: not enabled.`

const ACTIONS = ['enable', 'disable', 'status'] as const
type RlsAction = (typeof ACTIONS)[number]

function printStatus(status: RlsStatus, io: CommandIo): void {
  const width = Math.max(...status.tables.map((t) => t.table.length), 5)
  io.stdout(`${'table'.padEnd(width)}  enabled  forced  policies`)
  for (const t of status.tables) {
    if (!t.exists) {
      io.stdout(`${t.table.padEnd(width)}  (no such table)`)
      continue
    }
    io.stdout(`${t.table.padEnd(width)}  ${(t.enabled ? 'yes' : 'no').padEnd(7)}  ${(t.forced ? 'yes' : 'no').padEnd(6)}  ${t.policies.join(', ') || '-'}`)
  }
  io.stdout(`row-level security: ${status.state}`)
  if (status.roleBypassesRls) {
    io.stdout(`note: role "${status.role}" bypasses row-level security (superuser or BYPASSRLS); connect the application as an ordinary role`)
  }
}

/**
 * `tenantry rls enable|disable|status [--table schema.table ...]`. Returns the exit code: `status`
 * exits 3 (`EXIT.notEnabled`) when row-level security is not enabled on every table.
 *
 * @example
 * process.exitCode = await runRlsCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export const runRlsCommand = defineCommand({
  name: 'rls',
  usage: RLS_USAGE,
  options: {
    table: { type: 'string', multiple: true },
    schema: { type: 'string' },
  },
  positionals: 1,
  async run({ values, positionals }, io) {
    const action = positionals[0]
    if (action === undefined) throw new UsageError('say what to do: enable, disable or status')
    if (!isAction(action)) throw new UsageError(`unknown action "${action}" (expected enable, disable or status)`)
    const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)
    const tables = tableOptions(values.table)

    const target = readDatabaseTarget('rls', io)
    if (typeof target === 'number') return target
    const db = openCommandDatabase(target)
    try {
      const status =
        action === 'enable'
          ? await enableRowLevelSecurity(db, schema, tables)
          : action === 'disable'
            ? await disableRowLevelSecurity(db, schema, tables)
            : await rowLevelSecurityStatus(db, schema, tables)
      printStatus(status, io)
      return action === 'status' && status.state !== 'enabled' ? EXIT.notEnabled : EXIT.ok
    } catch (error) {
      // Hints for the failures an operator can fix; the rest is named without driver messages.
      const pgCode = (error as { code?: unknown }).code
      const reason = isTenantryError(error)
        ? error.message
        : pgCode === '42501'
          ? 'permission denied: run it as the owner of the tables (the role that ran the migrations)'
          : pgCode === '42883'
            ? `the helper functions are missing: run \`npx tenantry migrate\` first (schema "${schema}")`
            : describeDatabaseError(error, target)
      io.stderr(`tenantry rls ${action}: ${reason}`)
      return EXIT.failed
    } finally {
      await db.destroy()
    }
  },
})

function isAction(action: string): action is RlsAction {
  return (ACTIONS as readonly string[]).includes(action)
}
