import type { TableDeclaration } from './table-declaration.js'
import { normaliseSoftDelete, type TableModel } from './table-model.js'
import { BUNDLED_TABLE_NAMES, BUNDLED_TABLES, type BuiltinTableName, type BundledTable, type BundledTableName } from './bundled-table-registry.js'

export type { BuiltinTableName } from './bundled-table-registry.js'

/**
 * One bundled table as a model, on the same machinery as host tables, from its registry entry.
 * `tenants` is scoped by its own id; `users` are global identities, visible in a tenant through a
 * live membership.
 */
export function bundledTableModel(name: BundledTableName, schema: string, redact: string[]): TableModel {
  const entry: BundledTable = BUNDLED_TABLES[name]
  const model: TableModel = {
    name,
    schema,
    table: name,
    primaryKey: 'id',
    tenantColumn: entry.tenantColumn,
    softDelete: normaliseSoftDelete(entry.softDelete ? 'deleted_at' : undefined),
    auditEnabled: entry.audited !== false,
    redacted: [...new Set([...redact, ...(entry.redact ?? [])])],
    definition: { table: name } as TableDeclaration,
    columns: new Map(),
    updateSideEffects: [],
  }
  if (entry.tenantThrough) {
    model.tenantThrough = { schema, ...entry.tenantThrough, tenantColumn: 'tenant_id', softDeleteColumn: 'deleted_at' }
  }
  if (entry.caseInsensitive) model.caseInsensitive = [...entry.caseInsensitive]
  return model
}

/** The bundled tables with a repository model on every scope (`scope.tenants`, `scope.users`, ...). */
export function builtinTableModels(schema: string, redact: string[]): Map<BuiltinTableName, TableModel> {
  const names = BUNDLED_TABLE_NAMES.filter((name): name is BuiltinTableName => BUNDLED_TABLES[name].model)
  return new Map(names.map((name) => [name, bundledTableModel(name, schema, redact)]))
}

/** Tables whose rows a tenant scope may not create (a tenant, or a global identity): `asSystem` only. */
export function isSystemCreated(model: TableModel): boolean {
  return model.tenantColumn === model.primaryKey || (model.tenantColumn === null && model.tenantThrough !== undefined)
}
