import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { guardPool } from '../../runtime/guarded-pool.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { disableRowLevelSecurity, enableRowLevelSecurity, rowLevelSecurityStatus, type RlsStatus } from '../../rls/rls-admin.js'
import { parseTableArgument, type RlsTarget } from '../../rls/rls-targets.js'
import type { CommandIo } from '../command-io.js'
import { describeDatabaseError, parseDatabaseUrl } from '../database-url.js'


/** Exit codes: 0 done (status: enabled), 1 database error, 2 usage, 3 status: not enabled. */
export const RLS_EXIT = { ok: 0, error: 1, usage: 2, notEnabled: 3 } as const

export const RLS_USAGE = `usage: tenantry rls enable|disable|status [--table schema.table[:tenant_column] ...] [--schema tenantry]

  enable   install the policies and ENABLE + FORCE row-level security on the bundled tables
           and every --table (run it as the tables' owner, e.g. the migration role)
  disable  NO FORCE + DISABLE row-level security (policies stay, inert)
  status   print each table's state; exit 0 when enabled everywhere, 3 otherwise

Each action also covers every table that already carries tenantry's policies (enabled from code,
or by an earlier --table), so \`status\` and \`disable\` need no --table for those.
Reads DATABASE_URL. --table defaults the schema to public and the tenant column to tenant_id.`

interface ParsedArgs {
  action: 'enable' | 'disable' | 'status'
  tables: RlsTarget[]
  schema: string
}

function parseArgs(argv: string[]): ParsedArgs | string {
  const [action, ...rest] = argv
  if (action !== 'enable' && action !== 'disable' && action !== 'status') return `unknown rls action "${action ?? ''}"`
  const tables: RlsTarget[] = []
  let schema = DEFAULT_SCHEMA
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined]
    const value = inline ?? rest[++i]
    if (value === undefined || value.startsWith('--')) return `${name} needs a value`
    if (name === '--table') tables.push(parseTableArgument(value))
    else if (name === '--schema') {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) return '--schema expects a lower-case SQL identifier'
      schema = value
    } else return `unknown option ${name}`
  }
  return { action, tables, schema }
}

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
 * `tenantry rls enable|disable|status [--table schema.table ...]`. Returns the exit code.
 *
 * @example
 * process.exitCode = await runRlsCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runRlsCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed: ParsedArgs | string
  try {
    parsed = parseArgs(argv)
  } catch (error) {
    parsed = error instanceof Error ? error.message : String(error)
  }
  if (typeof parsed === 'string') {
    io.stderr(`tenantry rls: ${parsed}`)
    io.stderr(RLS_USAGE)
    return RLS_EXIT.usage
  }
  const target = parseDatabaseUrl(io.env)
  if (typeof target === 'string') {
    io.stderr(`tenantry rls: ${target}`)
    return io.env.DATABASE_URL ? RLS_EXIT.error : RLS_EXIT.usage
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 1 })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: guardPool(pool) }) })
  try {
    const { action, schema, tables } = parsed
    const status =
      action === 'enable'
        ? await enableRowLevelSecurity(db, schema, tables)
        : action === 'disable'
          ? await disableRowLevelSecurity(db, schema, tables)
          : await rowLevelSecurityStatus(db, schema, tables)
    printStatus(status, io)
    return action === 'status' && status.state !== 'enabled' ? RLS_EXIT.notEnabled : RLS_EXIT.ok
  } catch (error) {
    // Hints for the failures an operator can fix; the rest is named without driver messages.
    const pgCode = (error as { code?: unknown }).code
    const reason = isTenantryError(error)
      ? error.message
      : pgCode === '42501'
        ? 'permission denied: run it as the owner of the tables (the role that ran the migrations)'
        : pgCode === '42883'
          ? `the helper functions are missing: run \`npx tenantry migrate\` first (schema "${parsed.schema}")`
          : describeDatabaseError(error, target)
    io.stderr(`tenantry rls ${parsed.action}: ${reason}`)
    return RLS_EXIT.error
  } finally {
    await db.destroy()
  }
}
