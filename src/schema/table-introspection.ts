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
  generated: boolean
  update_triggers: boolean
  row_security: boolean
  force_row_security: boolean
  owned: boolean
  bypass_rls: boolean
  tenantry_policy: boolean
  citus: boolean
}

/** Row-level security of a declared table, read in the same round trip as its columns. */
export interface TableSecurity {
  schema: string
  table: string
  /** `ENABLE ROW LEVEL SECURITY`. */
  rowSecurity: boolean
  /** `FORCE ROW LEVEL SECURITY`. */
  forceRowSecurity: boolean
  /** The connected role owns the table (an owner bypasses policies unless they are forced). */
  owned: boolean
  /** The connected role is a superuser or has `BYPASSRLS`. */
  bypassRls: boolean
  /** The table carries a tenantry policy (`tenantry_tenant_isolation`, `tenantry_system_only`, ...). */
  tenantryPolicy: boolean
  /** A Citus distributed table (see `citus-placement.ts`); `false` without the citus extension. */
  distributed: boolean
}

/** `pg_trigger.tgtype` bits of a row-level (1) BEFORE (2) UPDATE (16) trigger. */
const ROW_BEFORE_UPDATE = sql.lit(1 | 2 | 16)

/**
 * Reads the columns of every declared table in one round trip and checks that the declared
 * key, tenant and soft-delete columns exist. Runs once per tenantry instance, before first use.
 */
export async function loadTableColumns(db: Kysely<any>, models: TableModel[], optional: TableModel[] = []): Promise<TableSecurity[]> {
  const all = [...models, ...optional]
  const security: TableSecurity[] = []
  if (all.length === 0) return security
  const pairs = all.map((m) => sql`(${m.schema}, ${m.table})`)
  // The catalogs directly rather than information_schema.columns (a view that costs ~10 ms a call), with
  // the same answers: the columns the role may use, a domain read as its base type, NOT NULL of
  // the column or its domain.
  const { rows } = await sql<ColumnRow>`
    select n.nspname as table_schema, c.relname as table_name, a.attname as column_name,
           coalesce(bt.typname, t.typname) as udt_name,
           case when a.attnotnull or (t.typtype = 'd' and t.typnotnull) then 'NO' else 'YES' end as is_nullable,
           (a.atthasdef or a.attidentity <> '' or a.attgenerated <> '') as has_default,
           a.attgenerated = 's' as generated,
           exists (select 1 from pg_trigger tg where tg.tgrelid = c.oid and not tg.tgisinternal
                      and (tg.tgtype & ${ROW_BEFORE_UPDATE}) = ${ROW_BEFORE_UPDATE} and tg.tgname <> 'tenantry_set_updated_at') as update_triggers,
           c.relrowsecurity as row_security, c.relforcerowsecurity as force_row_security, pg_has_role(c.relowner, 'USAGE') as owned,
           (select r.rolsuper or r.rolbypassrls from pg_roles r where r.rolname = current_user) as bypass_rls,
           exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname like 'tenantry\_%') as tenantry_policy,
           exists (select 1 from pg_extension where extname = 'citus') as citus
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_type t on t.oid = a.atttypid
      left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
     where (n.nspname, c.relname) in (${sql.join(pairs)})
       and a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'v', 'f', 'p')
       and (pg_has_role(c.relowner, 'USAGE') or has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
     order by a.attnum`.execute(db)
  for (const model of all) {
    const columns = new Map<string, ColumnInfo>()
    const generated: string[] = []
    let updateTriggers = false
    for (const row of rows) {
      if (row.table_schema !== model.schema || row.table_name !== model.table) continue
      if (row.generated) generated.push(row.column_name)
      updateTriggers ||= row.update_triggers
      columns.set(row.column_name, {
        name: row.column_name,
        type: row.udt_name,
        nullable: row.is_nullable === 'YES',
        hasDefault: row.has_default,
      })
    }
    const first = rows.find((row) => row.table_schema === model.schema && row.table_name === model.table)
    if (first) {
      security.push({
        schema: model.schema,
        table: model.table,
        rowSecurity: first.row_security,
        forceRowSecurity: first.force_row_security,
        owned: first.owned,
        bypassRls: first.bypass_rls,
        tenantryPolicy: first.tenantry_policy,
        distributed: false,
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
    model.updateSideEffects = updateTriggers ? 'any' : generated
  }
  // Only where the citus extension is installed: one more round trip, once per instance.
  if (rows[0]?.citus) await markDistributedTables(db, security)
  return security
}

/**
 * Sets `distributed` on the tables that are hash-distributed Citus tables (one round trip);
 * `citus/citus-placement.ts` decides what that changes.
 */
async function markDistributedTables(db: Kysely<any>, security: TableSecurity[]): Promise<void> {
  if (security.length === 0) return
  const { rows } = await sql<{ schema: string; table: string }>`
    select n.nspname as schema, c.relname as table
      from pg_dist_partition p join pg_class c on c.oid = p.logicalrelid join pg_namespace n on n.oid = c.relnamespace
     where p.partmethod = 'h'
       and (n.nspname, c.relname) in (select * from unnest(${security.map((t) => t.schema)}::text[], ${security.map((t) => t.table)}::text[]))`.execute(db)
  for (const table of security) table.distributed = rows.some((r) => r.schema === table.schema && r.table === table.table)
}
