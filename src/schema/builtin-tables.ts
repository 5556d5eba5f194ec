import type { TableDeclaration } from './table-declaration.js'
import { normaliseSoftDelete, type TableModel } from './table-model.js'

/** Names of the bundled tables exposed as `scope.tenants`, `scope.users`, ... */
export type BuiltinTableName = 'tenants' | 'users' | 'memberships' | 'roles' | 'user_roles' | 'audit_logs'

/**
 * The bundled tables as repository models, on the same machinery as host tables. `tenants` is
 * scoped by its own id; `users` are global identities, visible in a tenant through a live membership.
 */
export function builtinTableModels(schema: string, redact: string[]): Map<BuiltinTableName, TableModel> {
  const model = (name: BuiltinTableName, overrides: Partial<TableModel>): TableModel => ({
    name,
    schema,
    table: name,
    primaryKey: 'id',
    tenantColumn: 'tenant_id',
    softDelete: normaliseSoftDelete('deleted_at'),
    auditEnabled: true,
    redacted: [...redact],
    definition: { table: name } as TableDeclaration,
    columns: new Map(),
    ...overrides,
  })
  return new Map<BuiltinTableName, TableModel>([
    ['tenants', model('tenants', { tenantColumn: 'id' })],
    [
      'users',
      model('users', {
        tenantColumn: null,
        tenantThrough: { schema, table: 'memberships', memberColumn: 'user_id', tenantColumn: 'tenant_id', softDeleteColumn: 'deleted_at' },
        redacted: [...new Set([...redact, 'password_hash'])],
        // The unique key is on lower(email): a lookup must match the way the key does.
        caseInsensitive: ['email'],
      }),
    ],
    ['memberships', model('memberships', {})],
    ['roles', model('roles', {})],
    ['user_roles', model('user_roles', { softDelete: normaliseSoftDelete(undefined) })],
    // Read through `scope.auditLog`; the trail itself is never audited.
    ['audit_logs', model('audit_logs', { softDelete: normaliseSoftDelete(undefined), auditEnabled: false })],
  ])
}

/** Tables whose rows a tenant scope may not create (a tenant, or a global identity): `asSystem` only. */
export function isSystemCreated(model: TableModel): boolean {
  return model.tenantColumn === model.primaryKey || (model.tenantColumn === null && model.tenantThrough !== undefined)
}
