import { migrationSchema, bundledMigrations, type MigrationTarget } from './create-migrator.js'
import { migrationStatus, type MigrateOptions } from './migrate.js'
import { renderMigrationSql } from './sql-migration-provider.js'

/** One step `migrate()` would take, with the exact SQL it would run. */
export interface PlannedMigration {
  name: string
  direction: 'up' | 'down'
  sql: string
}

/**
 * What `migrate(options)` would run right now, without running it (the CLI's `--dry-run`). It
 * reads the applied migrations without the migration lock, so a migrator running meanwhile can
 * make the plan stale; `migrate()` itself always re-reads under the lock.
 *
 * @example
 * for (const step of await planMigrations({ pool })) console.log(`-- ${step.name}\n${step.sql}`)
 */
export async function planMigrations(options: MigrateOptions): Promise<PlannedMigration[]> {
  const schema = migrationSchema(options)
  const target: MigrationTarget = { ...options, schema }
  const [status, sources] = await Promise.all([migrationStatus(target), (options.sources ?? bundledMigrations)()])
  const byName = new Map(sources.map((s) => [s.name, s]))
  if (options.direction === 'down') {
    const applied = status.filter((m) => m.appliedAt !== null).reverse()
    return (options.all ? applied : applied.slice(0, 1)).map((m) => ({
      name: m.name,
      direction: 'down' as const,
      sql: renderMigrationSql(byName.get(m.name)!.down, schema),
    }))
  }
  return status
    .filter((m) => m.appliedAt === null)
    .map((m) => ({ name: m.name, direction: 'up' as const, sql: renderMigrationSql(byName.get(m.name)!.up, schema) }))
}
