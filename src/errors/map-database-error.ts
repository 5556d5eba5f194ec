import { ErrorCodes, type ErrorCode } from './error-codes.js'
import { TenantryError } from './tenantry-error.js'

interface PgErrorFields {
  code?: string
  constraint?: string
  column?: string
  table?: string
}

const bySqlState: Record<string, { code: ErrorCode; describe: (f: PgErrorFields) => string }> = {
  '23505': { code: ErrorCodes.UNIQUE_VIOLATION, describe: (f) => `unique constraint ${name(f.constraint)} violated` },
  '23503': { code: ErrorCodes.FOREIGN_KEY_VIOLATION, describe: (f) => `foreign key ${name(f.constraint)} violated` },
  '23514': { code: ErrorCodes.CHECK_VIOLATION, describe: (f) => `check constraint ${name(f.constraint)} violated` },
  '23502': { code: ErrorCodes.NOT_NULL_VIOLATION, describe: (f) => `column ${name(f.column)} may not be null` },
  '22P02': { code: ErrorCodes.VALIDATION, describe: () => 'a value has the wrong format for its column' },
  '22001': { code: ErrorCodes.VALIDATION, describe: () => 'a value is too long for its column' },
  '22003': { code: ErrorCodes.VALIDATION, describe: () => 'a numeric value is out of range for its column' },
  '22007': { code: ErrorCodes.VALIDATION, describe: () => 'a date/time value has the wrong format' },
  '22008': { code: ErrorCodes.VALIDATION, describe: () => 'a date/time value is out of range' },
  '40001': { code: ErrorCodes.RETRYABLE, describe: () => 'serialization failure; retry the operation' },
  '40P01': { code: ErrorCodes.RETRYABLE, describe: () => 'deadlock detected; retry the operation' },
  '55P03': { code: ErrorCodes.RETRYABLE, describe: () => 'lock not available; retry the operation' },
  '57014': { code: ErrorCodes.RETRYABLE, describe: () => 'statement timed out or was cancelled; retry the operation' },
  '42501': { code: ErrorCodes.FORBIDDEN, describe: () => 'the database refused the operation (row-level security or privileges)' },
}

function name(value: string | undefined): string {
  return value ? `"${value}"` : '(unnamed)'
}

function isPgError(error: unknown): error is Error & PgErrorFields {
  return error instanceof Error && typeof (error as PgErrorFields).code === 'string' && 'severity' in error
}

/**
 * Turns a `pg` error into a `TenantryError` whose message names the constraint or column and
 * never repeats the driver's message (which can contain values, as in `Key (email)=(...)`).
 */
export function mapDatabaseError(error: unknown, operation?: string): unknown {
  if (error instanceof TenantryError || !isPgError(error)) return error
  const sqlState = error.code ?? ''
  const known = bySqlState[sqlState]
  const where = operation ? `${operation}: ` : ''
  const details = {
    constraint: error.constraint,
    column: error.column,
    table: error.table,
    sqlState,
    operation,
  }
  const cause = redactedCause(error)
  if (known) return new TenantryError(known.code, `${where}${known.describe(error)}`, details, { cause })
  return new TenantryError(ErrorCodes.DATABASE, `${where}database error (SQLSTATE ${sqlState})`, details, { cause })
}

/**
 * The driver error without `message`, `detail` and `where`: PostgreSQL puts values there
 * (`invalid input syntax for type uuid: "..."`, `Key (email)=(...)`), and a logged cause is still logged.
 */
function redactedCause(error: Error & PgErrorFields): Error {
  const cause = new Error(`PostgreSQL error ${error.code ?? ''}`)
  cause.name = 'DatabaseError'
  Object.assign(cause, { code: error.code, constraint: error.constraint, column: error.column, table: error.table })
  cause.stack = `${cause.name}: ${cause.message}`
  return cause
}
