import { readdir, readFile } from 'node:fs/promises'
import { Kysely, PostgresDialect } from 'kysely'
import { Migrator } from 'kysely/migration'
import type pg from 'pg'
import { TenantryError } from '../errors/tenantry-error.js'
import { guardPool } from '../runtime/guarded-pool.js'
import { SCHEMA_NAME } from '../util/identifiers.js'
import { bundledMigrationsFolder } from './migrations-folder.js'
import { readSqlMigrations, SqlMigrationProvider, type SqlMigrationSource } from './sql-migration-provider.js'

export const DEFAULT_SCHEMA = 'tenantry'
/** Our own bookkeeping tables, so we never share Kysely's default `kysely_migration` with the host. */
export const MIGRATION_TABLE = 'tenantry_migration'
export const MIGRATION_LOCK_TABLE = 'tenantry_migration_lock'

// The schema name is pasted into SQL text, including inside string literals ('{{schema}}.x'::regclass),
// so it is held to the same identifier rule as createTenantry's `schema` option.

/** Where to migrate: the host's pool or Kysely instance (a transaction works too) and the schema. */
export interface MigrationTarget {
  pool?: pg.Pool
  db?: Kysely<any>
  /** Postgres schema of the bundled tables. Defaults to `tenantry`. */
  schema?: string
  /** Where the SQL comes from; defaults to the package's `migrations/` folder. */
  sources?: () => Promise<SqlMigrationSource[]>
}

/**
 * Loads the bundled migration files (`NNNN_name.up.sql` / `.down.sql`), unrendered.
 *
 * @example
 * const names = (await bundledMigrations()).map((m) => m.name) // ['0001_core', ...]
 */
export function bundledMigrations(): Promise<SqlMigrationSource[]> {
  return readSqlMigrations({ readdir, readFile }, bundledMigrationsFolder())
}

/** Checks the schema option and returns the schema name to use. */
export function migrationSchema(target: Pick<MigrationTarget, 'schema'>): string {
  const schema = target.schema ?? DEFAULT_SCHEMA
  if (!SCHEMA_NAME.test(schema)) {
    throw new TenantryError('CONFIGURATION', 'migrate: `schema` must be a lower-case SQL identifier (a-z, 0-9, _)', {
      operation: 'migrate',
    })
  }
  return schema
}

/** A Kysely `Migrator` over the bundled SQL, with tenantry's own bookkeeping tables in `schema`. */
export function createMigrator(target: MigrationTarget): Migrator {
  const schema = migrationSchema(target)
  if (!target.db && !target.pool) throw new TenantryError('CONFIGURATION', 'migrate: pass `pool` or `db`', { operation: 'migrate' })
  // A Kysely made here over the host's pool is never destroyed: that would end the host's pool.
  const db = target.db ?? new Kysely<any>({ dialect: new PostgresDialect({ pool: guardPool(target.pool!) }) })
  return new Migrator({
    db,
    provider: new SqlMigrationProvider(target.sources ?? bundledMigrations, schema),
    migrationTableSchema: schema,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  })
}
