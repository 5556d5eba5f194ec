import { NO_MIGRATIONS, type MigrationResult } from 'kysely/migration'
import { isConnectionError, mapDatabaseError } from '../errors/map-database-error.js'
import { createMigrator, type MigrationTarget } from './create-migrator.js'

export { bundledMigrations, DEFAULT_SCHEMA, MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type MigrationTarget } from './create-migrator.js'

/** `latest` and `up` apply every pending migration; `down` undoes the last one (all with `all`). */
export type MigrationDirection = 'up' | 'down' | 'latest'

export interface MigrateOptions extends MigrationTarget {
  /** Defaults to `latest`. */
  direction?: MigrationDirection
  /** With `direction: 'down'`: undo every migration, not only the last one. */
  all?: boolean
}

export interface MigrateResult {
  /** What ran, in order, as Kysely's `MigrationResult`s (`Success`, `Error`, `NotExecuted`). */
  results: MigrationResult[]
  /**
   * The first error, if any. A run is one transaction, so when a migration fails nothing of the
   * run stays applied, not even the migrations reported `Success` before it.
   */
  error?: unknown
}

export interface MigrationStatus {
  name: string
  /** When it was applied; `null` while it is pending. */
  appliedAt: Date | null
}

/**
 * Applies (or undoes) tenantry's bundled migrations, recorded in `<schema>.tenantry_migration`.
 * Safe to call from several processes at once: Kysely's migrator takes an advisory lock, so the
 * second caller waits and then finds nothing to do. Like Kysely, it reports errors in the result
 * instead of throwing half-way.
 *
 * @example
 * const { error, results } = await migrate({ pool, schema: 'tenantry' })
 * if (error) throw error
 * for (const r of results) console.log(r.status, r.migrationName)
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const migrator = createMigrator(options)
  const set =
    options.direction === 'down' ? (options.all ? await migrator.migrateTo(NO_MIGRATIONS) : await migrator.migrateDown()) : await migrator.migrateToLatest()
  const results = [...(set.results ?? [])]
  if (set.error === undefined) return { results }
  // A lost or refused connection is RETRYABLE like everywhere else; a failing migration keeps the
  // driver's error, whose message (DDL, no row values) is what its author needs.
  return { results, error: isConnectionError(set.error) ? mapDatabaseError(set.error, 'migrate') : set.error }
}

/**
 * Lists every bundled migration with when it was applied (`null`: pending). Reads only; on a
 * database never migrated it creates nothing and reports everything pending.
 *
 * @example
 * const pending = (await migrationStatus({ pool })).filter((m) => m.appliedAt === null)
 */
export async function migrationStatus(options: MigrationTarget): Promise<MigrationStatus[]> {
  const infos = await createMigrator(options).getMigrations()
  return infos.map((info) => ({ name: info.name, appliedAt: info.executedAt ?? null }))
}
