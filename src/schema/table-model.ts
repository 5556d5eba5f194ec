import type { SoftDeleteOption, TableDeclaration } from './table-declaration.js'

/** A column as the database describes it. */
export interface ColumnInfo {
  name: string
  /** `udt_name` from information_schema: `uuid`, `timestamptz`, `int4`, `_text`, ... */
  type: string
  nullable: boolean
  hasDefault: boolean
}

/** Normalised soft-delete strategy. */
export type SoftDeleteStrategy =
  | { kind: 'none' }
  | { kind: 'timestamp'; column: string }
  | { kind: 'flag'; column: string; deletedWhen: boolean; timestamp: string | null }

/**
 * A declared table with its defaults applied and its columns read from the database: what the
 * repository, the scope predicates and the audit writer work from.
 */
export interface TableModel {
  /** Name the host uses with `scope.repo(name)`; also the audit `resource_type`. */
  name: string
  schema: string
  table: string
  primaryKey: string
  /** `null` for global tables (e.g. bundled `users`), filtered some other way. */
  tenantColumn: string | null
  /**
   * For global tables whose rows belong to tenants through another table (bundled `users` through
   * `memberships`): a row is visible in a tenant when a live link row exists.
   */
  tenantThrough?: {
    schema: string
    table: string
    memberColumn: string
    tenantColumn: string
    softDeleteColumn: string | null
  }
  softDelete: SoftDeleteStrategy
  /**
   * Text columns compared case-insensitively by default in `where` (`lower(col) = lower($1)`), as
   * their unique key is: bundled `users.email`. `mode: 'sensitive'` compares exactly.
   */
  caseInsensitive?: string[]
  auditEnabled: boolean
  /** Columns never copied into audit rows (table `audit.exclude` plus global `audit.redact`). */
  redacted: string[]
  definition: TableDeclaration
  columns: Map<string, ColumnInfo>
  /**
   * Columns an UPDATE may change besides the ones it sets: the stored generated columns, or `'any'`
   * when the table has a row-level BEFORE UPDATE trigger (other than tenantry's `updated_at` one),
   * which may change any column. Read with the columns; decides how `changed_fields` is computed.
   */
  updateSideEffects: readonly string[] | 'any'
}

export function normaliseSoftDelete(option: SoftDeleteOption | undefined): SoftDeleteStrategy {
  if (option === undefined) return { kind: 'none' }
  if (typeof option === 'string') return { kind: 'timestamp', column: option }
  return { kind: 'flag', column: option.flag, deletedWhen: option.deletedWhen, timestamp: option.timestamp ?? null }
}

/** Columns that only tenantry writes: the tenant and the soft-delete state. */
export function managedColumns(model: TableModel): string[] {
  const managed: string[] = []
  if (model.tenantColumn) managed.push(model.tenantColumn)
  const sd = model.softDelete
  if (sd.kind === 'timestamp') managed.push(sd.column)
  if (sd.kind === 'flag') managed.push(sd.column, ...(sd.timestamp ? [sd.timestamp] : []))
  return managed
}
