import { BUNDLED_TABLE_NAMES, BUNDLED_TABLES, type BundledTableName } from '../schema/bundled-table-registry.js'
import type { TableModel } from '../schema/table-model.js'

/** How a table is (or should be) placed on a Citus cluster. */
export type CitusDistribution = 'local' | 'distributed' | 'reference'

/** A table `tenantry.citus` manages: a bundled one, or a host table distributed by its tenant column. */
export interface CitusTarget {
  schema: string
  table: string
  kind: 'bundled' | 'host'
  /** What `distribute()` makes of it. */
  target: CitusDistribution
  /** The distribution column, for `distributed` targets. */
  column: string | null
}

/** The distributed table every other bundled distributed table is co-located with. */
const CO_LOCATION_ANCHOR: BundledTableName = 'audit_logs'

/**
 * The bundled tables and their place on a cluster, as the registry records it (`citus` in
 * `schema/bundled-table-registry.ts`). Placement order matters:
 * - reference tables first (`tenants`, `users`, `roles`), so every distributed table can keep its
 *   foreign keys to them;
 * - then the distributed ones, `audit_logs` first: the co-location group of every other tenant
 *   table is the audit trail's;
 * - then the tables that stay on the coordinator (tokens, looked up by their selector alone).
 * Within each group, the registry's order.
 */
export function bundledCitusTargets(schema: string): CitusTarget[] {
  const target = (table: BundledTableName): CitusTarget => {
    const placement = BUNDLED_TABLES[table].citus
    return { schema, table, kind: 'bundled', target: placement, column: placement === 'distributed' ? 'tenant_id' : null }
  }
  const placed = (placement: CitusDistribution) => BUNDLED_TABLE_NAMES.filter((name) => BUNDLED_TABLES[name].citus === placement)
  const distributed = placed('distributed')
  return [
    ...placed('reference'),
    ...distributed.filter((name) => name === CO_LOCATION_ANCHOR),
    ...distributed.filter((name) => name !== CO_LOCATION_ANCHOR),
    ...placed('local'),
  ].map(target)
}

/** Host tables (declared with `defineTable`, or named on the CLI), distributed by their tenant column. */
export function hostCitusTargets(tables: Iterable<Pick<TableModel, 'schema' | 'table' | 'tenantColumn'>>): CitusTarget[] {
  return [...tables].map((t) => ({ schema: t.schema, table: t.table, kind: 'host', target: 'distributed', column: t.tenantColumn ?? 'tenant_id' }))
}

/** Bundled targets first, then host tables that are not bundled ones (each once). */
export function allCitusTargets(schema: string, hosts: CitusTarget[]): CitusTarget[] {
  const targets = bundledCitusTargets(schema)
  for (const host of hosts) {
    if (!targets.some((t) => t.schema === host.schema && t.table === host.table)) targets.push(host)
  }
  return targets
}

/** `schema.table`, for messages and reports. */
export function citusTableName(target: Pick<CitusTarget, 'schema' | 'table'>): string {
  return `${target.schema}.${target.table}`
}
