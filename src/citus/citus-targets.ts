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

/**
 * The bundled tables and their place on a cluster:
 * - `tenants`, `users`, `roles` are reference tables (a copy on every node): slugs and e-mail
 *   addresses stay globally unique, a lookup by slug or e-mail stays on one node, system roles
 *   (no tenant) live next to tenant roles, and every tenant table can keep its foreign keys to them;
 * - `memberships`, `user_roles`, `invitations`, `audit_logs` are distributed by `tenant_id`, co-located;
 * - `sessions` and `refresh_tokens` stay on the coordinator: a token is looked up by its selector
 *   alone and `refresh_tokens` has no tenant column.
 */
export function bundledCitusTargets(schema: string): CitusTarget[] {
  const reference = (table: string): CitusTarget => ({ schema, table, kind: 'bundled', target: 'reference', column: null })
  const distributed = (table: string): CitusTarget => ({ schema, table, kind: 'bundled', target: 'distributed', column: 'tenant_id' })
  const local = (table: string): CitusTarget => ({ schema, table, kind: 'bundled', target: 'local', column: null })
  return [
    reference('tenants'),
    reference('users'),
    reference('roles'),
    // audit_logs first: the co-location group of every other tenant table is the audit trail's
    distributed('audit_logs'),
    distributed('memberships'),
    distributed('user_roles'),
    distributed('invitations'),
    local('sessions'),
    local('refresh_tokens'),
  ]
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
