import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { BUNDLED_TABLE_NAMES, BUNDLED_TABLES } from '../../src/schema/bundled-table-registry.js'
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../src/migration/migrate.js'
import { useFileDatabase } from '../support/test-database.js'

const fileDb = await useFileDatabase()

async function columnsOf(table: string): Promise<Set<string>> {
  const { rows } = await sql<{ column_name: string }>`
    select column_name from information_schema.columns where table_schema = 'tenantry' and table_name = ${table}`.execute(fileDb.db)
  return new Set(rows.map((r) => r.column_name))
}

describe('registry of bundled tables', () => {
  it('lists every table the bundled migrations create, and no other', async () => {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
       where table_schema = 'tenantry' and table_type = 'BASE TABLE' order by table_name`.execute(fileDb.db)
    const created = rows.map((r) => r.table_name).filter((name) => name !== MIGRATION_TABLE && name !== MIGRATION_LOCK_TABLE)
    expect(created).toEqual([...BUNDLED_TABLE_NAMES].sort())
  })

  it('names tenant and soft-delete columns the migrated tables really have', async () => {
    for (const name of BUNDLED_TABLE_NAMES) {
      const entry = BUNDLED_TABLES[name]
      const columns = await columnsOf(name)
      if (entry.tenantColumn !== null) expect(columns.has(entry.tenantColumn), `${name}.${entry.tenantColumn}`).toBe(true)
      expect(columns.has('deleted_at'), `${name}.deleted_at`).toBe(entry.softDelete)
    }
  })
})
