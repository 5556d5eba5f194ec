import { ErrorCodes, type ErrorCode } from './error-codes.js'
import { guardFields } from './reference-guard-fields.js'
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
  // The server is going away or not there yet: nothing of the statement was committed.
  '57P01': { code: ErrorCodes.RETRYABLE, describe: () => 'the server terminated the connection (administrator command); retry the operation' },
  '57P02': { code: ErrorCodes.RETRYABLE, describe: () => 'the server terminated the connection (crash shutdown); retry the operation' },
  '57P03': { code: ErrorCodes.RETRYABLE, describe: () => 'the server cannot accept connections now (starting up or shutting down); retry the operation' },
  '53300': { code: ErrorCodes.RETRYABLE, describe: () => 'the server has too many connections; retry the operation' },
  '42501': { code: ErrorCodes.FORBIDDEN, describe: () => 'the database refused the operation (row-level security or privileges)' },
}

/** SQLSTATE class 08: connection exception. */
const connectionClass = { code: ErrorCodes.RETRYABLE, describe: () => 'the connection to the server failed; retry the operation' }

function name(value: string | undefined): string {
  return value ? `"${value}"` : '(unnamed)'
}

function isPgError(error: unknown): error is Error & PgErrorFields {
  return error instanceof Error && typeof (error as PgErrorFields).code === 'string' && 'severity' in error
}

/**
 * Turns a `pg` error into a `TenantryError` whose message names the constraint or column and
 * never repeats the driver's message (which can contain values, as in `Key (email)=(...)`).
 * Socket and driver errors of a lost or refused connection become `RETRYABLE`. Where a lost
 * connection may have interrupted a COMMIT, the caller uses `mayHaveCommitted` first.
 */
export function mapDatabaseError(error: unknown, operation?: string): unknown {
  if (error instanceof TenantryError) return operation && error.operation === undefined && isConnectionOutcome(error) ? named(error, operation) : error
  if (!isPgError(error)) return isConnectionError(error) ? connectionError(error as Error, operation) : error
  const sqlState = error.code ?? ''
  const known = bySqlState[sqlState] ?? (sqlState.startsWith('08') ? connectionClass : undefined)
  const where = operation ? `${operation}: ` : ''
  const details = {
    constraint: error.constraint,
    column: error.column,
    table: error.table,
    ...guardFields(error),
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

/** Error codes of Node sockets and DNS that mean "no usable connection to the server". */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
])

/** Messages of `pg` and `pg-pool` for a connection that broke, timed out or never came up. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'connection timeout',
]

/** SQLSTATEs sent by a server that ends the connection while a statement may be running. */
const SHUTDOWN_STATES = new Set(['57P01', '57P02'])

/**
 * True for a driver, socket or server error that means the connection is gone or could not be
 * made (as opposed to an error of the statement itself).
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || code.startsWith('08') || code === '57P03' || code === '53300' || SHUTDOWN_STATES.has(code)) return true
  }
  if (DRIVER_MESSAGES.some((message) => error.message.startsWith(message) || error.message.includes(message))) return true
  return error instanceof AggregateError && error.errors.some(isConnectionError)
}

/**
 * True when a statement that was sent may still have committed: the connection broke (socket
 * error, `Connection terminated`, 57P01/57P02, class 08) while it was in flight. False when the
 * driver refused to send it at all (a client already broken is "not queryable"), and for errors
 * that only happen while connecting (refused, 57P03, 53300, pool timeout).
 */
export function mayHaveCommitted(error: unknown): boolean {
  if (error instanceof TenantryError) {
    if (error.code === ErrorCodes.OUTCOME_UNKNOWN) return true
    return error.cause !== undefined && mayHaveCommitted(error.cause)
  }
  if (!isConnectionError(error)) return false
  const err = error as Error & { code?: unknown }
  if (err.message.includes('not queryable') || err.message.includes('trying to connect')) return false
  const code = typeof err.code === 'string' ? err.code : ''
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === '57P03' || code === '53300') return false
  if (err instanceof AggregateError) return err.errors.some(mayHaveCommitted)
  return true
}

/**
 * `OUTCOME_UNKNOWN`: the connection was lost while a COMMIT or a single-statement write was in
 * flight, so the change may or may not be in the database. Not retryable.
 */
export function outcomeUnknownError(error: unknown, operation?: string): TenantryError {
  const where = operation ? `${operation}: ` : ''
  const sqlState =
    typeof (error as { code?: unknown })?.code === 'string' && /^[0-9A-Z]{5}$/.test((error as { code: string }).code)
      ? (error as { code: string }).code
      : undefined
  return new TenantryError(
    ErrorCodes.OUTCOME_UNKNOWN,
    `${where}the connection was lost while the change was being committed; it may or may not have been applied`,
    { ...(operation ? { operation } : {}), ...(sqlState ? { sqlState } : {}) },
    { cause: safeCause(error) },
  )
}

function connectionError(error: Error, operation: string | undefined): TenantryError {
  const where = operation ? `${operation}: ` : ''
  return new TenantryError(
    ErrorCodes.RETRYABLE,
    `${where}the connection to the database was lost or could not be made; retry the operation`,
    operation ? { operation } : {},
    { cause: safeCause(error) },
  )
}

/**
 * The cause as a driver error reduced to its codes: socket messages name addresses and
 * `pg` errors may carry values, so neither message is kept.
 */
function safeCause(error: unknown): Error | undefined {
  if (error instanceof TenantryError) return (error.cause as Error | undefined) ?? error
  if (!(error instanceof Error)) return undefined
  if (isPgError(error)) return redactedCause(error)
  const err = error as Error & { code?: unknown; syscall?: unknown }
  const code = typeof err.code === 'string' ? err.code : undefined
  const known = DRIVER_MESSAGES.find((message) => err.message.includes(message))
  const cause = new Error(code ? `connection error ${code}` : (known ?? 'connection error'))
  cause.name = 'ConnectionError'
  Object.assign(cause, { code, syscall: typeof err.syscall === 'string' ? err.syscall : undefined })
  cause.stack = `${cause.name}: ${cause.message}`
  return cause
}

function isConnectionOutcome(error: TenantryError): boolean {
  return error.code === ErrorCodes.OUTCOME_UNKNOWN || (error.code === ErrorCodes.RETRYABLE && isConnectionError(error.cause))
}

/** The same connection error, named after the public operation it ended (mapped deeper down without one). */
function named(error: TenantryError, operation: string): TenantryError {
  return new TenantryError(
    error.code,
    `${operation}: ${error.message}`,
    { ...(error.sqlState ? { sqlState: error.sqlState } : {}), ...(error.table ? { table: error.table } : {}), operation },
    { cause: error.cause },
  )
}

/**
 * `promise`, with a rejection mapped by `mapDatabaseError`: for entry points that reach the
 * database without a unit of work (administration: rls, citus, lint, audit retention).
 */
export function withTypedErrors<T>(operation: string, promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw mapDatabaseError(error, operation)
  })
}
