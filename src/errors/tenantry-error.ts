import type { ErrorCode } from './error-codes.js'

/** A zod issue, reduced to what is safe to log: where and why, never the rejected value. */
export interface ValidationIssue {
  path: (string | number)[]
  code: string
  message: string
}

export interface TenantryErrorDetails {
  /** Constraint named by PostgreSQL (unique, foreign key, check). */
  constraint?: string
  /** Column named by PostgreSQL or by tenantry's own validation. */
  column?: string
  /** Table the operation targeted. */
  table?: string
  /** zod issues of a `VALIDATION` error. */
  issues?: ValidationIssue[]
  /** PostgreSQL SQLSTATE of the underlying error. */
  sqlState?: string
  /** The operation that failed, e.g. `projects.update`. */
  operation?: string
}

/**
 * The one error type tenantry throws. `code` is stable; the message names tables, columns and
 * constraints but never bound values, tokens or secrets, so it is safe to log.
 *
 * @example
 * try { await projects.create({ name: 'Apollo' }) }
 * catch (error) { if (isTenantryError(error, 'UNIQUE_VIOLATION')) console.log(error.constraint) }
 */
export class TenantryError extends Error {
  override readonly name = 'TenantryError'
  readonly code: ErrorCode
  readonly constraint: string | undefined
  readonly column: string | undefined
  readonly table: string | undefined
  readonly issues: ValidationIssue[] | undefined
  readonly sqlState: string | undefined
  readonly operation: string | undefined
  /**
   * True when the operation certainly did not take effect and the same call may succeed if retried:
   * serialization failure, deadlock, lock timeout, a lost connection or a server shutting down or
   * starting before the statement could commit. Always `false` for `OUTCOME_UNKNOWN`.
   */
  readonly retryable: boolean

  constructor(code: ErrorCode, message: string, details: TenantryErrorDetails = {}, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.constraint = details.constraint
    this.column = details.column
    this.table = details.table
    this.issues = details.issues
    this.sqlState = details.sqlState
    this.operation = details.operation
    this.retryable = code === 'RETRYABLE'
  }

  /** True when a lost connection left it unknown whether the write committed (`OUTCOME_UNKNOWN`). */
  get outcomeUnknown(): boolean {
    return this.code === 'OUTCOME_UNKNOWN'
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      constraint: this.constraint,
      column: this.column,
      table: this.table,
      issues: this.issues,
      sqlState: this.sqlState,
      operation: this.operation,
      retryable: this.retryable,
    }
  }
}

/** Narrows `error` to a `TenantryError`, optionally of one code. */
export function isTenantryError(error: unknown, code?: ErrorCode): error is TenantryError {
  return error instanceof TenantryError && (code === undefined || error.code === code)
}
