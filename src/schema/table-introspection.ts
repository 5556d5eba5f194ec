import { sql, type Kysely } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import type { ColumnInfo, TableModel } from './table-model.js'
import { managedColumns } from './table-model.js'

interface ColumnRow {
  table_schema: string
  table_name: string
  column_name: string
  udt_name: string
  is_nullable: 'YES' | 'NO'
  has_default: boolean
}

/**
 * Reads the columns of every declared table in one round trip and checks that the declared
 * key, tenant and soft-delete columns exist. Runs once per tenantry instance, before first use.
 */
export async function loadTableColumns(db: Kysely<any>, models: TableModel[], optional: TableModel[] = []): Promise<void> {
  const all = [...models, ...optional]
  if (all.length === 0) return
  const pairs = all.map((m) => sql`(${m.schema}, ${m.table})`)
  const { rows } = await sql<ColumnRow>`
    select table_schema, table_name, column_name, udt_name, is_nullable,
           (column_default is not null or is_identity = 'YES' or is_generated = 'ALWAYS') as has_default
      from information_schema.columns
     where (table_schema, table_name) in (${sql.join(pairs)})
     order by ordinal_position`.execute(db)
  for (const model of all) {
    const columns = new Map<string, ColumnInfo>()
    for (const row of rows) {
      if (row.table_schema !== model.schema || row.table_name !== model.table) continue
      columns.set(row.column_name, {
        name: row.column_name,
        type: row.udt_name,
        nullable: row.is_nullable === 'YES',
        hasDefault: row.has_default,
      })
    }
    if (columns.size === 0 && optional.includes(model)) continue
    if (columns.size === 0) {
      throw new TenantryError('CONFIGURATION', `table "${model.schema}"."${model.table}" (declared as "${model.name}") does not exist`, {
        table: model.name,
      })
    }
    for (const column of [model.primaryKey, ...managedColumns(model)]) {
      if (!columns.has(column)) {
        throw new TenantryError('CONFIGURATION', `table "${model.name}" has no column "${column}" named in its declaration`, {
          table: model.name,
          column,
        })
      }
    }
    model.columns = columns
  }
}
