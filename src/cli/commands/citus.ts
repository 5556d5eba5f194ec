import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { distributeTables } from '../../citus/citus-distribute.js'
import { readCitusStatus, type CitusStatus } from '../../citus/citus-status.js'
import { allCitusTargets, hostCitusTargets } from '../../citus/citus-targets.js'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { parseTableArgument, type RlsTarget } from '../../rls/rls-targets.js'
import type { CommandIo } from '../command-io.js'
import { describeDatabaseError, parseDatabaseUrl } from '../database-url.js'

/** Exit codes: 0 done (status: every table in place), 1 failed, 2 usage, 3 status: not distributed. */
export const CITUS_EXIT = { ok: 0, error: 1, usage: 2, notDistributed: 3 } as const

export const CITUS_USAGE = `usage: tenantry citus distribute|status [--table schema.table[:tenant_column] ...]
                      [--colocate-with schema.table] [--schema tenantry] [--json]

  distribute  on the Citus coordinator: tenants, users and roles become reference tables; tenantry's
              tenant tables and every --table are distributed by their tenant column, co-located
              (with --colocate-with: in that table's co-location group). Idempotent.
  status      print where each table lives; exit 0 when every table is in place, 3 otherwise

Reads DATABASE_URL. --table defaults the schema to public and the tenant column to tenant_id.`

interface ParsedArgs {
  action: 'distribute' | 'status'
  tables: RlsTarget[]
  schema: string
  colocateWith: string | undefined
  json: boolean
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

function parseArgs(argv: string[]): ParsedArgs | string {
  const [action, ...rest] = argv
  if (action !== 'distribute' && action !== 'status') return `unknown citus action "${action ?? ''}"`
  const parsed: ParsedArgs = { action, tables: [], schema: DEFAULT_SCHEMA, colocateWith: undefined, json: false }
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!
    if (flag === '--json') {
      parsed.json = true
      continue
    }
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined]
    if (name !== '--table' && name !== '--schema' && name !== '--colocate-with') return flag.startsWith('--') ? `unknown option ${name}` : `unexpected argument "${flag}"`
    const value = inline ?? rest[++i]
    if (value === undefined || value.startsWith('--')) return `${name} needs a value`
    if (name === '--table') parsed.tables.push(parseTableArgument(value))
    else if (name === '--colocate-with') {
      if (action !== 'distribute') return '--colocate-with applies to distribute'
      parsed.colocateWith = value
    } else if (!IDENTIFIER.test(value)) return '--schema expects a lower-case SQL identifier'
    else parsed.schema = value
  }
  return parsed
}

function printStatus(status: CitusStatus, io: CommandIo): void {
  if (!status.installed) {
    io.stdout('citus: not installed in this database')
    return
  }
  const width = Math.max(...status.tables.map((t) => t.table.length), 5)
  io.stdout(`${'table'.padEnd(width)}  ${'distribution'.padEnd(12)}  column      colocation  shards`)
  for (const t of status.tables) {
    if (!t.exists) {
      io.stdout(`${t.table.padEnd(width)}  (no such table)`)
      continue
    }
    const placed = t.ready ? t.distribution : `${t.distribution} (distribute: ${t.target})`
    io.stdout(
      `${t.table.padEnd(width)}  ${placed.padEnd(12)}  ${(t.column ?? '-').padEnd(10)}  ${String(t.colocationId ?? '-').padEnd(10)}  ${t.shards ?? '-'}`,
    )
  }
  io.stdout(`citus ${status.version}, ${status.workers} worker${status.workers === 1 ? '' : 's'}: ${status.distributed ? 'distributed' : 'not distributed (run tenantry citus distribute)'}`)
}

/**
 * `tenantry citus distribute|status [--table schema.table ...]`. Returns the exit code.
 *
 * @example
 * process.exitCode = await runCitusCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runCitusCommand(argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(CITUS_USAGE)
    return CITUS_EXIT.ok
  }
  let parsed: ParsedArgs | string
  try {
    parsed = parseArgs(argv)
  } catch (error) {
    parsed = error instanceof Error ? error.message : String(error)
  }
  if (typeof parsed === 'string') {
    io.stderr(`tenantry citus: ${parsed}`)
    io.stderr(CITUS_USAGE)
    return CITUS_EXIT.usage
  }
  const target = parseDatabaseUrl(io.env)
  if (typeof target === 'string') {
    io.stderr(`tenantry citus: ${target}`)
    return io.env.DATABASE_URL ? CITUS_EXIT.error : CITUS_EXIT.usage
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 1 })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  try {
    const hosts = hostCitusTargets(parsed.tables)
    if (parsed.action === 'distribute') {
      const { changed, status } = await distributeTables(db, parsed.schema, hosts, parsed.colocateWith ? { colocateWith: parsed.colocateWith } : {})
      if (parsed.json) io.stdout(JSON.stringify({ changed, status }, null, 2))
      else {
        for (const line of changed) io.stdout(line)
        if (changed.length === 0) io.stdout('nothing to do: every table is already in place')
        printStatus(status, io)
      }
      return CITUS_EXIT.ok
    }
    const status = await readCitusStatus(db, allCitusTargets(parsed.schema, hosts))
    if (parsed.json) io.stdout(JSON.stringify(status, null, 2))
    else printStatus(status, io)
    return status.distributed ? CITUS_EXIT.ok : CITUS_EXIT.notDistributed
  } catch (error) {
    io.stderr(`tenantry citus ${parsed.action}: ${isTenantryError(error) ? error.message.replace(/^citus distribute: /, '') : describeDatabaseError(error, target)}`)
    return CITUS_EXIT.error
  } finally {
    await db.destroy()
  }
}
