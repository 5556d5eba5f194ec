import { readdir, readFile } from 'node:fs/promises'
import { Kysely, PostgresDialect } from 'kysely'
import { Migrator, NO_MIGRATIONS, type MigrationResult } from 'kysely/migration'
import type pg from 'pg'
import { bundledMigrationsFolder } from './migrations-folder.js'
import { readSqlMigrations, SqlMigrationProvider, type SqlMigrationSource } from './sql-migration-provider.js'

export const DEFAULT_SCHEMA = 'tenantry'
/** Our own bookkeeping tables, so we never share Kysely's default `kysely_migration` with the host. */
export const MIGRATION_TABLE = 'tenantry_migration'
export const MIGRATION_LOCK_TABLE = 'tenantry_migration_lock'

export type MigrationDirection = 'up' | 'down' | 'latest'

export interface MigrateOptions {
  pool?: pg.Pool
  db?: Kysely<any>
  /** Postgres schema of the bundled tables. Defaults to `tenantry`. */
  schema?: string
  /** `latest`/`up` apply every pending migration; `down` undoes the last one. Defaults to `latest`. */
  direction?: MigrationDirection
  /** Undo every migration (with `direction: 'down'`). */
  all?: boolean
  /** Where the SQL comes from; defaults to the package's `migrations/` folder. */
  sources?: () => Promise<SqlMigrationSource[]>
}

export interface MigrateResult {
  /** What ran, in order, like Kysely's `MigrationResult`. */
  results: MigrationResult[]
  /** The first error, if any; migrations before it stay applied. */
  error?: unknown
}

export interface MigrationStatus {
  name: string
  appliedAt: Date | null
}

/** Loads the bundled migration files. */
export function bundledMigrations(): Promise<SqlMigrationSource[]> {
  return readSqlMigrations({ readdir, readFile }, bundledMigrationsFolder())
}

/**
 * Applies (or undoes) tenantry's bundled migrations. Safe to call from several processes at once:
 * Kysely's migrator serialises them with an advisory lock, and applied migrations are skipped.
 *
 * @example
 * const { error, results } = await migrate({ pool, schema: 'tenantry' })
 * if (error) throw error
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  return withMigrator(options, async (migrator) => {
    const direction = options.direction ?? 'latest'
    const set =
      direction === 'down'
        ? options.all
          ? await migrator.migrateTo(NO_MIGRATIONS)
          : await migrator.migrateDown()
        : await migrator.migrateToLatest()
    return set.error === undefined ? { results: [...(set.results ?? [])] } : { results: [...(set.results ?? [])], error: set.error }
  })
}

/** Lists every bundled migration with when it was applied (`null`: pending). */
export async function migrationStatus(options: Omit<MigrateOptions, 'direction' | 'all'>): Promise<MigrationStatus[]> {
  return withMigrator(options, async (migrator) => {
    const infos = await migrator.getMigrations()
    return infos.map((info) => ({ name: info.name, appliedAt: info.executedAt ?? null }))
  })
}

async function withMigrator<T>(options: MigrateOptions, run: (migrator: Migrator) => Promise<T>): Promise<T> {
  const schema = options.schema ?? DEFAULT_SCHEMA
  if (!options.db && !options.pool) throw new Error('migrate: pass `pool` or `db`')
  // A Kysely made here over the host's pool is never destroyed: that would end the host's pool.
  const db = options.db ?? new Kysely<any>({ dialect: new PostgresDialect({ pool: options.pool! }) })
  const migrator = new Migrator({
    db,
    provider: new SqlMigrationProvider(options.sources ?? bundledMigrations, schema),
    migrationTableSchema: schema,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  })
  return run(migrator)
}
