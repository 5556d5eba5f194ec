import { sql, type Kysely } from 'kysely'
import type { Migration, MigrationProvider } from 'kysely/migration'
import { TenantryError } from '../errors/tenantry-error.js'

/** How a provider reads the migration folder; injected so that tests and bundlers can swap it. */
export interface MigrationFileSystem {
  readdir(path: string): Promise<string[]>
  readFile(path: string, encoding: 'utf8'): Promise<string>
}

/** One migration as SQL text, before the schema name is filled in. */
export interface SqlMigrationSource {
  name: string
  up: string
  down: string
}

const SCHEMA_PLACEHOLDER = /\{\{schema\}\}/g

/** Fills the `{{schema}}` placeholder of a migration file with the quoted schema name. */
export function renderMigrationSql(text: string, schema: string): string {
  return text.replace(SCHEMA_PLACEHOLDER, `"${schema.replaceAll('"', '""')}"`)
}

/**
 * Reads `NNNN_name.up.sql` / `NNNN_name.down.sql` pairs from a folder. Every migration must have
 * both files, so `down` can always undo what `up` did.
 */
export async function readSqlMigrations(fs: MigrationFileSystem, folder: string): Promise<SqlMigrationSource[]> {
  const files = (await fs.readdir(folder)).filter((f) => f.endsWith('.sql')).sort()
  const names = [...new Set(files.map((f) => f.replace(/\.(up|down)\.sql$/, '')))]
  return Promise.all(
    names.map(async (name) => {
      if (!files.includes(`${name}.up.sql`) || !files.includes(`${name}.down.sql`)) {
        throw new TenantryError('CONFIGURATION', `migration ${name} needs both ${name}.up.sql and ${name}.down.sql`)
      }
      return {
        name,
        up: await fs.readFile(`${folder}/${name}.up.sql`, 'utf8'),
        down: await fs.readFile(`${folder}/${name}.down.sql`, 'utf8'),
      }
    }),
  )
}

/** A Kysely `MigrationProvider` over SQL sources, rendered for one schema. */
export class SqlMigrationProvider implements MigrationProvider {
  readonly #load: () => Promise<SqlMigrationSource[]>
  readonly #schema: string

  constructor(load: () => Promise<SqlMigrationSource[]>, schema: string) {
    this.#load = load
    this.#schema = schema
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    const sources = await this.#load()
    const migrations: Record<string, Migration> = {}
    for (const source of sources) {
      migrations[source.name] = {
        up: (db: Kysely<any>) =>
          sql
            .raw(renderMigrationSql(source.up, this.#schema))
            .execute(db)
            .then(() => {}),
        down: (db: Kysely<any>) =>
          sql
            .raw(renderMigrationSql(source.down, this.#schema))
            .execute(db)
            .then(() => {}),
      }
    }
    return migrations
  }
}
