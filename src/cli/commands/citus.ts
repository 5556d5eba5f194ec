import { distributeTables } from '../../citus/citus-distribute.js'
import { readCitusStatus, type CitusStatus } from '../../citus/citus-status.js'
import { allCitusTargets, hostCitusTargets } from '../../citus/citus-targets.js'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { UsageError } from '../command-args.js'
import type { CommandIo } from '../command-io.js'
import { openCommandDatabase } from '../command-database.js'
import { describeDatabaseError, readDatabaseTarget } from '../database-url.js'
import { defineCommand } from '../define-command.js'
import { EXIT } from '../exit-codes.js'
import { identifierOption, tableOptions } from '../sql-name-options.js'

export const CITUS_USAGE = `usage: tenantry citus distribute|status [--table schema.table[:tenant_column] ...]
                      [--colocate-with schema.table] [--schema tenantry] [--json]

  distribute  on the Citus coordinator: tenants, users and roles become reference tables; tenantry's
              tenant tables and every --table are distributed by their tenant column, co-located
              (with --colocate-with: in that table's co-location group). Idempotent.
  status      print where each table lives; exit 0 when every table is in place, 3 otherwise

Reads DATABASE_URL. --table defaults the schema to public and the tenant column to tenant_id.
Exit codes: 0 done, 1 failed, 2 usage, 3 status: not every table is distributed.`

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
  io.stdout(
    `citus ${status.version}, ${status.workers} worker${status.workers === 1 ? '' : 's'}: ${status.distributed ? 'distributed' : 'not distributed (run tenantry citus distribute)'}`,
  )
}

/**
 * `tenantry citus distribute|status [--table schema.table ...]`. Returns the exit code: 0 done
 * (status: every table in place), 1 failed, 2 usage, 3 status: not distributed (`EXIT.notDistributed`).
 *
 * @example
 * process.exitCode = await runCitusCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export const runCitusCommand = defineCommand({
  name: 'citus',
  usage: CITUS_USAGE,
  options: {
    table: { type: 'string', multiple: true },
    'colocate-with': { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: 1,
  async run({ values, positionals }, io) {
    const action = positionals[0]
    if (action === undefined) throw new UsageError('say what to do: distribute or status')
    if (action !== 'distribute' && action !== 'status') throw new UsageError(`unknown citus action "${action}" (expected distribute or status)`)
    const colocateWith = values['colocate-with']
    if (colocateWith !== undefined && action !== 'distribute') throw new UsageError('--colocate-with applies to distribute')
    const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)
    const hosts = hostCitusTargets(tableOptions(values.table))

    const target = readDatabaseTarget('citus', io)
    if (typeof target === 'number') return target
    const db = openCommandDatabase(target)
    try {
      if (action === 'distribute') {
        const { changed, status } = await distributeTables(db, schema, hosts, colocateWith ? { colocateWith } : {})
        if (values.json) io.stdout(JSON.stringify({ changed, status }, null, 2))
        else {
          for (const line of changed) io.stdout(line)
          if (changed.length === 0) io.stdout('nothing to do: every table is already in place')
          printStatus(status, io)
        }
        return EXIT.ok
      }
      const status = await readCitusStatus(db, allCitusTargets(schema, hosts))
      if (values.json) io.stdout(JSON.stringify(status, null, 2))
      else printStatus(status, io)
      return status.distributed ? EXIT.ok : EXIT.notDistributed
    } catch (error) {
      io.stderr(`tenantry citus ${action}: ${isTenantryError(error) ? error.message.replace(/^citus distribute: /, '') : describeDatabaseError(error, target)}`)
      return EXIT.failed
    } finally {
      await db.destroy()
    }
  },
})
