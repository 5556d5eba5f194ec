import type { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import { columnError, validationError } from '../errors/validation-error.js'
import { managedColumns, type TableModel } from '../schema/table-model.js'
import { UUID } from '../util/identifiers.js'
import { checkColumnValues } from '../schema/column-values.js'

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Checks a primary-key value against the column type before it reaches SQL. */
export function checkId(model: TableModel, id: unknown, operation: string): string | number {
  const type = model.columns.get(model.primaryKey)?.type
  const ok =
    type === 'uuid'
      ? typeof id === 'string' && UUID.test(id)
      : type === 'int2' || type === 'int4' || type === 'int8'
        ? (typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && /^-?\d{1,19}$/.test(id))
        : typeof id === 'string' || typeof id === 'number'
  // A text key with a NUL byte can match nothing, and PostgreSQL refuses it: malformed too.
  if (!ok || (typeof id === 'string' && id.includes('\u0000'))) {
    throw columnError(`${operation}: malformed ${model.primaryKey}`, model.primaryKey, { table: model.name, operation })
  }
  return id as string | number
}

/** Runs a zod schema when the table declares one; failures are `VALIDATION` with zod's issues. */
export function parseWithSchema(schema: z.ZodType | undefined, input: Record<string, unknown>, model: TableModel, operation: string): Record<string, unknown> {
  if (!schema) return input
  const parsed = schema.safeParse(input)
  if (!parsed.success) throw validationError(`${operation}: invalid input`, parsed.error, { table: model.name, operation })
  if (!isPlainObject(parsed.data)) {
    throw new TenantryError('VALIDATION', `${operation}: the table's schema must produce an object`, { table: model.name, operation })
  }
  return parsed.data
}

/**
 * Refuses columns the table does not have, the primary key in a patch, the columns tenantry
 * manages itself (tenant, soft-delete state: those change only through scopes and
 * `softDelete`/`restore`), and values the column cannot store (see `checkColumnValue`).
 */
export function checkWritableColumns(model: TableModel, values: Record<string, unknown>, operation: string, kind: 'insert' | 'update'): void {
  const managed = new Set(managedColumns(model))
  for (const key of Object.keys(values)) {
    if (!model.columns.has(key)) throw columnError(`${operation}: unknown column "${key}"`, key, { table: model.name, operation })
    if (managed.has(key) && key !== model.tenantColumn) {
      throw columnError(`${operation}: column "${key}" is managed by softDelete/restore`, key, { table: model.name, operation })
    }
    if (kind === 'update' && key === model.primaryKey) {
      throw columnError(`${operation}: the primary key cannot be changed`, key, { table: model.name, operation })
    }
  }
  // NUL bytes in text, and JSON that PostgreSQL would refuse, are VALIDATION naming the column.
  checkColumnValues(model, values, operation)
}

export function requireObject(value: unknown, model: TableModel, operation: string, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new TenantryError('VALIDATION', `${operation}: ${what} must be an object`, { table: model.name, operation })
  return value
}

/** Refuses misspelt option keys (`{ wher: ... }`), which would otherwise widen a query silently. */
export function checkReadOptions(model: TableModel, options: unknown, operation: string, allowed: string[]): Record<string, unknown> {
  if (options === undefined) return {}
  const object = requireObject(options, model, operation, 'options')
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new TenantryError('VALIDATION', `${operation}: unknown option "${key}" (expected ${allowed.join(', ')})`, {
        table: model.name,
        operation,
      })
    }
  }
  return object
}
