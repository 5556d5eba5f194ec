import type { TableNode } from 'kysely'
import type { TableModel } from '../schema/table-model.js'
import { BUNDLED_TABLE_NAMES, BUNDLED_TABLES, bundledTable } from '../schema/bundled-table-registry.js'
import { forbidden } from './scope-refusal.js'

/**
 * What `scope.db` may do with tenantry's bundled tables. All of them are read-only through it:
 * their writes go through the APIs that keep audit rows, permission caches and invariants right.
 * Reads are scoped like a declared table, except:
 * - token secrets and sessions (`sessions`, `refresh_tokens`, `invitations`) and tenantry's
 *   bookkeeping (any other table in its schema) are refused;
 * - `users` are shown through a subquery of their public columns (no `password_hash`);
 * - `roles` also show the system roles (`tenant_id is null`), as `scope.roles` does.
 */

/** Bundled tables a tenant-scoped handle never reads: they hold token hashes and session data. */
const REFUSED = new Set<string>(BUNDLED_TABLE_NAMES.filter((name) => BUNDLED_TABLES[name].scopedDb === 'refused'))

export interface BundledTables {
  /** Schema of the bundled tables. */
  schema: string
  builtins: readonly TableModel[]
  /** The host's declared tables: a host table may share a bundled table's name. */
  models: readonly TableModel[]
}

/**
 * Refuses a table reference (in FROM, a join, a column reference, an insert or update target)
 * that names a bundled table `scope.db` never reads, qualified, or unqualified when no declared
 * host table has that name (a search_path could resolve it to tenantry's schema).
 */
export function checkTableReference(node: TableNode, tables: BundledTables): void {
  const name = node.table.identifier.name
  const schema = node.table.schema?.name
  if (tables.models.some((m) => m.table === name && (schema === undefined || m.schema === schema))) return
  if (schema === tables.schema) {
    if (tables.builtins.some((m) => m.table === name)) return
    throw forbidden(
      `${schema}.${name} is refused: ${REFUSED.has(name) ? 'it holds token hashes or session data; use tenantry.tokens and scope.invitations' : "it is tenantry's own bookkeeping"}`,
    )
  }
  if (schema === undefined && (REFUSED.has(name) || name.startsWith('tenantry_'))) {
    throw forbidden(`"${name}" may name tenantry's ${name} table through the search_path and is refused; qualify a host table of that name (public.${name})`)
  }
}

/** Refuses a write (insert, update, delete, on conflict) into a bundled table. */
export function refuseBundledWrite(model: TableModel, builtins: readonly TableModel[], what: string): void {
  if (!builtins.includes(model)) return
  throw forbidden(
    `${what} ${model.schema}.${model.table} is refused: bundled tables are read-only through scope.db; write through ${bundledTable(model.name)?.writtenThrough ?? "tenantry's API"}`,
  )
}

/** The columns a tenant reads of this table, or `null` for all of them. */
export function visibleColumns(model: TableModel, builtins: readonly TableModel[]): readonly string[] | null {
  return builtins.includes(model) ? (bundledTable(model.name)?.visibleColumns ?? null) : null
}

/** Whether the rows of this table without a tenant are shared with every tenant (system roles). */
export function sharesSystemRows(model: TableModel, builtins: readonly TableModel[]): boolean {
  return builtins.includes(model) && bundledTable(model.name)?.sharesSystemRows === true
}
