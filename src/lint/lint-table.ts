import type { CatalogColumn, CatalogIndex, CatalogTable } from './catalog-snapshot.js'
import type { LintSoftDelete, LintTarget } from './lint-types.js'

/** A linted table: the target (what the host declared) with its catalog entry. */
export interface LintTable {
  target: LintTarget
  catalog: CatalogTable
  /** `schema.table`, for findings and messages. */
  name: string
  /** The tenant column as the catalog has it; `null` when the table is not a tenant table. */
  tenant: CatalogColumn | null
  softDelete: LintSoftDelete
}

export function columnByNum(table: CatalogTable, num: number): CatalogColumn | undefined {
  return table.columns.find((c) => c.num === num)
}

export function columnByName(table: CatalogTable, name: string): CatalogColumn | undefined {
  return table.columns.find((c) => c.name === name)
}

/** A name for a constraint or index tenantry suggests: PostgreSQL's own pattern, at most 63 bytes. */
export function suggestedName(table: string, columns: string[], suffix: 'key' | 'idx' | 'fkey'): string {
  const base = `${table}_${columns.join('_')}`
  return quoteGenerated(`${base.slice(0, 63 - suffix.length - 1)}_${suffix}`)
}

function quoteGenerated(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}

/** Whether a key column list holds the tenant column itself (not only inside an expression). */
export function hasPlainColumn(index: CatalogIndex, column: CatalogColumn): boolean {
  return index.keys.includes(column.num)
}

/** Whether an expression key column mentions the tenant column (`coalesce(tenant_id, ...)`). */
export function mentionsColumn(text: string, column: CatalogColumn): boolean {
  const escaped = column.quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^A-Za-z0-9_$"])${escaped}($|[^A-Za-z0-9_$"])`).test(text)
}

/**
 * Whether a unique index only counts live rows: its predicate says the soft-delete timestamp is
 * null, or names the flag column.
 */
export function isPartialOnLiveRows(table: LintTable, index: CatalogIndex): boolean {
  const sd = table.softDelete
  if (sd.kind === 'none') return true
  const predicate = index.predicate
  if (predicate === null) return false
  const isNull = (name: string) => {
    const column = columnByName(table.catalog, name)
    if (!column) return false
    const escaped = column.quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    return new RegExp(`(^|[^A-Za-z0-9_$"])${escaped} IS NULL`).test(predicate)
  }
  const mentions = (name: string) => {
    const column = columnByName(table.catalog, name)
    return column !== undefined && mentionsColumn(predicate, column)
  }
  switch (sd.kind) {
    case 'timestamp':
      return isNull(sd.column)
    case 'flag':
      return mentions(sd.column) || (sd.timestamp !== null && isNull(sd.timestamp))
    case 'guessed':
      return isNull(sd.column) || table.catalog.columns.some((c) => c.type === 'boolean' && mentionsColumn(predicate, c))
  }
}

/** The predicate that selects live rows, for suggested partial indexes. */
export function livePredicate(table: LintTable): string | null {
  const sd = table.softDelete
  const quoted = (name: string) => columnByName(table.catalog, name)?.quoted ?? name
  switch (sd.kind) {
    case 'none':
      return null
    case 'timestamp':
    case 'guessed':
      return `${quoted(sd.column)} is null`
    case 'flag':
      return sd.deletedWhen ? `not ${quoted(sd.column)}` : quoted(sd.column)
  }
}
