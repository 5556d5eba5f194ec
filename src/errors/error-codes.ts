/** Stable error codes. Match on `error.code`, never on the message. */
export const ErrorCodes = {
  NOT_FOUND: 'NOT_FOUND',
  VALIDATION: 'VALIDATION',
  UNIQUE_VIOLATION: 'UNIQUE_VIOLATION',
  FOREIGN_KEY_VIOLATION: 'FOREIGN_KEY_VIOLATION',
  CHECK_VIOLATION: 'CHECK_VIOLATION',
  NOT_NULL_VIOLATION: 'NOT_NULL_VIOLATION',
  CONTEXT_MISSING: 'CONTEXT_MISSING',
  FORBIDDEN: 'FORBIDDEN',
  CONFLICT: 'CONFLICT',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  TOKEN_REUSED: 'TOKEN_REUSED',
  RETRYABLE: 'RETRYABLE',
  /**
   * The connection was lost while a COMMIT (or a single-statement write) was in flight: the change
   * may or may not have been applied. Never retried automatically; see docs/errors.md.
   */
  OUTCOME_UNKNOWN: 'OUTCOME_UNKNOWN',
  CONFIGURATION: 'CONFIGURATION',
  DATABASE: 'DATABASE',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]
