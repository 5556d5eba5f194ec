import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { denied, recordFailedWrite } from '../execution/audited-write.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { tenantInsertValues } from '../predicates/row-visibility.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { isSystemCreated } from '../schema/builtin-tables.js'
import type { TableModel } from '../schema/table-model.js'
import { namesAnotherTenant } from './hook-replacement.js'
import { checkWritableColumns, parseWithSchema, requireObject } from './input-validation.js'
import { auditActionName, operationName, type WriteOperation } from './operations.js'
import { bindValue, type Assignments } from './write-statements.js'

/**
 * A write's input, from what the caller passed to the values a statement binds: the table's zod
 * schema, the columns it may set, the tenant (filled in, or refused when it names another one) and
 * the `SET` of an update.
 */

const NOW = sql`now()`

/**
 * The row `create`/`createMany` inserts for `input`: an object, through the table's insert schema,
 * only writable columns, the scope's tenant filled in. Input naming another tenant is a rejected
 * promise (`FORBIDDEN`, audited as `denied`); anything else invalid throws at once.
 */
export function prepareInsert(state: RequestState, model: TableModel, input: unknown, op: 'create' | 'createMany'): Record<string, unknown> | Promise<never> {
  const operation = operationName(model, op)
  const raw = requireObject(input, model, operation, 'input')
  const refused = refuseForeignTenant(state, model, raw, op, null)
  if (refused) return refused
  const parsed = parseWithSchema(model.definition.insert, raw, model, operation)
  // A table schema that strips unknown keys must not let a tenant column through unchecked.
  const tenantColumn = model.tenantColumn
  const values = tenantColumn && tenantColumn in raw && !(tenantColumn in parsed) ? { ...parsed, [tenantColumn]: raw[tenantColumn] } : parsed
  return withTenant(state, model, checkedInsert(model, values, operation))
}

/** `values` after `checkWritableColumns` for an insert. */
export function checkedInsert(model: TableModel, values: Record<string, unknown>, operation: string): Record<string, unknown> {
  checkWritableColumns(model, values, operation, 'insert')
  return values
}

/** `values` with the scope's tenant; a system scope must name the tenant itself, and only it creates system-created tables. */
export function withTenant(state: RequestState, model: TableModel, values: Record<string, unknown>): Record<string, unknown> {
  const tenantId = requestTenantId(state)
  if (tenantId !== null && isSystemCreated(model)) {
    throw new TenantryError('FORBIDDEN', `${operationName(model, 'create')}: only a system scope (asSystem) creates ${model.name}`, {
      table: model.name,
    })
  }
  const column = model.tenantColumn
  if (tenantId === null && column && column !== model.primaryKey && values[column] == null) {
    throw new TenantryError('VALIDATION', `${operationName(model, 'create')}: a system scope must name the tenant ("${column}")`, {
      table: model.name,
      column,
    })
  }
  return { ...values, ...tenantInsertValues(model, tenantId) }
}

/**
 * The patch `update`/`updateMany` applies: an object, through the table's update schema, only
 * writable columns, at least one of them; the tenant column may only repeat the scope's tenant.
 */
export async function preparePatch(
  state: RequestState,
  model: TableModel,
  patch: unknown,
  op: 'update' | 'updateMany',
  resourceId: string | null,
): Promise<Record<string, unknown>> {
  const operation = operationName(model, op)
  const raw = requireObject(patch, model, operation, 'patch')
  await refuseForeignTenant(state, model, raw, op, resourceId)
  const parsed = parseWithSchema(model.definition.update, raw, model, operation)
  const values = { ...parsed }
  // The tenant column may only repeat the scope's own tenant, which changes nothing.
  if (model.tenantColumn) delete values[model.tenantColumn]
  checkWritableColumns(model, values, operation, 'update')
  if (Object.keys(values).length === 0) {
    throw new TenantryError('VALIDATION', `${operation}: the patch changes no column`, { table: model.name, operation })
  }
  return values
}

/** Input naming another tenant, or trying to move a row to one, is refused and audited as `denied`. */
function refuseForeignTenant(
  state: RequestState,
  model: TableModel,
  raw: Record<string, unknown>,
  op: WriteOperation,
  resourceId: string | null,
): Promise<never> | undefined {
  if (!namesAnotherTenant(model, requestTenantId(state), raw)) return undefined
  return refuseTenant(state, model, model.tenantColumn!, op, resourceId)
}

async function refuseTenant(state: RequestState, model: TableModel, column: string, op: WriteOperation, resourceId: string | null): Promise<never> {
  const operation = operationName(model, op)
  const error = new TenantryError('FORBIDDEN', `${operation}: "${column}" may only name the scope's own tenant`, {
    table: model.name,
    column,
    operation,
  })
  if (model.auditEnabled) await recordFailedWrite(state, denied(error), { action: auditActionName(model, op), resourceType: model.name, resourceId })
  throw error
}

/** The `SET` of an update: each value bound for its column (`bind`), and `updated_at` moved unless the patch sets it. */
export function assignmentsFor(model: TableModel, values: Record<string, unknown>, bind = bindValue): Assignments {
  const assignments: Record<string, unknown> = {}
  for (const column in values) assignments[column] = bind(model, column, values[column])
  return 'updated_at' in values ? assignments : stampUpdatedAt(model, assignments)
}

/** Every update statement moves `updated_at` (when the table has one), so `expectedUpdatedAt` sees it. */
export function stampUpdatedAt(model: TableModel, assignments: Assignments): Assignments {
  return model.columns.has('updated_at') ? { ...assignments, updated_at: NOW } : assignments
}

/** The condition of `update(id, patch, { expectedUpdatedAt })`: the row's `updated_at` is still the one the caller read. */
export function updatedAtGuard(model: TableModel, expected: Date | string, operation: string): RawBuilder<SqlBool> {
  if (!model.columns.has('updated_at')) {
    throw new TenantryError('VALIDATION', `${operation}: expectedUpdatedAt needs an updated_at column`, { table: model.name, operation })
  }
  const value = expected instanceof Date ? expected : new Date(expected)
  if (Number.isNaN(value.getTime())) {
    throw new TenantryError('VALIDATION', `${operation}: expectedUpdatedAt is not a date`, { table: model.name, operation })
  }
  // JavaScript dates carry milliseconds, timestamptz microseconds: compare at millisecond precision.
  const asText = typeof expected === 'string' ? expected : value.toISOString()
  // In UTC, date_trunc is IMMUTABLE: Citus refuses STABLE functions over columns in an UPDATE.
  if (model.columns.get('updated_at')?.type === 'timestamptz') {
    return sql<SqlBool>`date_trunc('milliseconds', u.updated_at at time zone 'UTC') = date_trunc('milliseconds', ${asText}::timestamptz at time zone 'UTC')`
  }
  return sql<SqlBool>`date_trunc('milliseconds', u.updated_at) = date_trunc('milliseconds', ${asText}::timestamptz)`
}
