import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'
import { BUNDLED_TABLE_NAMES, BUNDLED_TABLES, type BundledTableName } from '../schema/bundled-table-registry.js'

/** A table whose row-level security tenantry manages. */
export interface RlsTarget {
  schema: string
  table: string
  /**
   * `bundled`: policies come from `install_bundled_policies()` (tenants, users, ... sessions).
   * `host`: a host table, policy made by `install_tenant_policy(table, tenantColumn)`.
   */
  kind: 'bundled' | 'host'
  tenantColumn: string
}

/** Every bundled table that carries a policy. `sessions`/`refresh_tokens` are skipped when absent. */
export const BUNDLED_RLS_TABLES: readonly BundledTableName[] = BUNDLED_TABLE_NAMES

export function bundledTargets(schema: string): RlsTarget[] {
  return BUNDLED_RLS_TABLES.map((table) => ({ schema, table, kind: 'bundled', tenantColumn: BUNDLED_TABLES[table].tenantColumn ?? 'tenant_id' }))
}

/** The host tables declared with `defineTable`. */
export function hostTargets(models: Iterable<TableModel>): RlsTarget[] {
  return [...models].map((model) => ({
    schema: model.schema,
    table: model.table,
    kind: 'host',
    tenantColumn: model.tenantColumn ?? 'tenant_id',
  }))
}

/** `"schema"."table"`, for messages. */
export function qualifiedName(target: Pick<RlsTarget, 'schema' | 'table'>): string {
  return `${target.schema}.${target.table}`
}

const TABLE_ARGUMENT = /^(?:([a-z_][a-z0-9_$]*)\.)?([a-z_][a-z0-9_$]*)(?::([a-z_][a-z0-9_$]*))?$/

/**
 * Parses a CLI `--table` value: `schema.table`, `table` (schema `public`) or `schema.table:column`
 * when the tenant column is not `tenant_id`.
 */
export function parseTableArgument(value: string): RlsTarget {
  const match = TABLE_ARGUMENT.exec(value.trim())
  if (!match) {
    throw new TenantryError('VALIDATION', `--table expects schema.table or schema.table:tenant_column (lower-case identifiers), got "${value}"`)
  }
  return { schema: match[1] ?? 'public', table: match[2]!, kind: 'host', tenantColumn: match[3] ?? 'tenant_id' }
}
