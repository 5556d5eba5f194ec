import { sql, type OperationNode, type RawBuilder, type SqlBool } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'

/**
 * The one place where tenant and soft-delete predicates are built. Every repository read, count,
 * update and delete, every query rewritten by `scope.db`, the RBAC statements (`can`, roles,
 * invitations) and audit retention take their filters from here.
 */

/** Which rows of a soft-deletable table a view shows. */
export type DeletedView = 'live' | 'all' | 'deleted'

/** The rows a statement may see: one tenant's (or, for a system scope, all) in one deleted view. */
export interface RowVisibility {
  /** The tenant whose rows are visible; `null` only for an explicit `asSystem` scope. */
  tenantId: string | null
  view: DeletedView
}

const TRUE: RawBuilder<SqlBool> = sql<SqlBool>`true`

function column(alias: string, name: string): RawBuilder<unknown> {
  return sql`${sql.id(alias)}.${sql.id(name)}`
}

/** `alias.tenant_id = $tenant` (or membership-based for global tables); nothing for system scopes. */
export function tenantPredicate(model: TableModel, alias: string, tenantId: string | null): RawBuilder<SqlBool> | null {
  if (tenantId === null) return null
  if (model.tenantColumn) return sql<SqlBool>`${column(alias, model.tenantColumn)} = ${tenantId}::uuid`
  const through = model.tenantThrough
  if (through) {
    const live = through.softDeleteColumn ? sql` and m.${sql.id(through.softDeleteColumn)} is null` : sql``
    return sql<SqlBool>`exists (select 1 from ${sql.id(through.schema, through.table)} as m
      where m.${sql.id(through.memberColumn)} = ${column(alias, model.primaryKey)}
        and m.${sql.id(through.tenantColumn)} = ${tenantId}::uuid${live})`
  }
  // A table with no tenant column and no membership rule is never visible inside a tenant scope.
  return sql<SqlBool>`false`
}

/**
 * `alias.tenant_id = <tenant>` where the tenant is another row's tenant column (a declared
 * reference: the referenced row belongs to the referencing row's tenant, also in system scopes).
 */
export function sameTenantPredicate(model: TableModel, alias: string, tenant: RawBuilder<unknown>): RawBuilder<SqlBool> {
  if (!model.tenantColumn) throw new TenantryError('CONFIGURATION', `table "${model.name}" has no tenant column`)
  return sql<SqlBool>`${column(alias, model.tenantColumn)} = ${tenant}`
}

/**
 * Rows a tenant shares with the system (`roles`): `alias.tenant_id = $tenant or alias.tenant_id is
 * null`. Unlike `tenantPredicate`, `null` is not "no filter": with no tenant only system rows match.
 */
export function tenantOrSystemPredicate(model: TableModel, alias: string, tenantId: string | null): RawBuilder<SqlBool> {
  const tenant = ownerColumn(model, alias)
  return sql<SqlBool>`(${tenant} = ${tenantId}::uuid or ${tenant} is null)`
}

/**
 * Rows owned by exactly `tenantId`, or with `null` the system rows (`tenant_id is null`): the rows
 * one owner may have by a name, e.g. the roles `seedDefaultRoles` finds before creating more.
 */
export function ownerPredicate(model: TableModel, alias: string, tenantId: string | null): RawBuilder<SqlBool> {
  const tenant = ownerColumn(model, alias)
  // Two forms rather than `is not distinct from`, which no index can serve.
  return tenantId === null ? sql<SqlBool>`${tenant} is null` : sql<SqlBool>`${tenant} = ${tenantId}::uuid`
}

/** The tenant column of a table with system rows; the rules above mean nothing without one. */
function ownerColumn(model: TableModel, alias: string): RawBuilder<unknown> {
  if (!model.tenantColumn || model.tenantColumn === model.primaryKey) {
    throw new TenantryError('CONFIGURATION', `table "${model.name}" has no tenant column that can hold system rows`)
  }
  return column(alias, model.tenantColumn)
}

/** The soft-delete predicate of `view`, or nothing for tables without soft delete and for `all`. */
export function softDeletePredicate(model: TableModel, alias: string, view: DeletedView): RawBuilder<SqlBool> | null {
  const strategy = model.softDelete
  if (strategy.kind === 'none' || view === 'all') return null
  if (strategy.kind === 'timestamp') {
    return view === 'live' ? sql<SqlBool>`${column(alias, strategy.column)} is null` : sql<SqlBool>`${column(alias, strategy.column)} is not null`
  }
  const flag = column(alias, strategy.column)
  const deletedValue = sql.lit(strategy.deletedWhen)
  return view === 'live' ? sql<SqlBool>`${flag} is distinct from ${deletedValue}` : sql<SqlBool>`${flag} is not distinct from ${deletedValue}`
}

/** Every predicate of `visibility` for `alias`, joined with `and` (`true` when there is none). */
export function rowVisibilityCondition(model: TableModel, alias: string, visibility: RowVisibility): RawBuilder<SqlBool> {
  const parts = [tenantPredicate(model, alias, visibility.tenantId), softDeletePredicate(model, alias, visibility.view)].filter(
    (p): p is RawBuilder<SqlBool> => p !== null,
  )
  if (parts.length === 0) return TRUE
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`
}

/** `SET` values, column by column, that mark rows deleted (`to: 'deleted'`) or live again (`to: 'live'`). */
export function softDeleteAssignments(model: TableModel, to: 'deleted' | 'live'): Record<string, RawBuilder<unknown>> {
  const strategy = model.softDelete
  if (strategy.kind === 'none') return {}
  const stamp = to === 'deleted' ? sql`now()` : sql`null`
  if (strategy.kind === 'timestamp') return { [strategy.column]: stamp }
  const flagValue = to === 'deleted' ? strategy.deletedWhen : !strategy.deletedWhen
  return { [strategy.column]: sql`${sql.lit(flagValue)}`, ...(strategy.timestamp ? { [strategy.timestamp]: stamp } : {}) }
}

/** The columns and values an insert must carry for the tenant (empty for system or global tables). */
export function tenantInsertValues(model: TableModel, tenantId: string | null): Record<string, string> {
  if (tenantId === null || !model.tenantColumn || model.tenantColumn === model.primaryKey) return {}
  return { [model.tenantColumn]: tenantId }
}

/**
 * `rowVisibilityCondition` as a Kysely operation node, for the `scope.db` plugin, which adds it to the
 * WHERE or ON of every declared table a query touches.
 */
export function rowVisibilityConditionNode(model: TableModel, alias: string, visibility: RowVisibility): OperationNode {
  return rowVisibilityCondition(model, alias, visibility).toOperationNode()
}

/**
 * `rowVisibilityConditionNode` for a table whose rows without a tenant are shared with every tenant
 * (system `roles`): a tenant scope sees its own rows and the shared ones; a system scope, all.
 */
export function sharedRowsConditionNode(model: TableModel, alias: string, visibility: RowVisibility): OperationNode {
  if (visibility.tenantId === null) return rowVisibilityConditionNode(model, alias, visibility)
  const live = rowVisibilityCondition(model, alias, { tenantId: null, view: visibility.view })
  return sql<SqlBool>`(${live} and ${tenantOrSystemPredicate(model, alias, visibility.tenantId)})`.toOperationNode()
}
