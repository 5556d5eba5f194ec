/** Turns errors into JSON responses. TenantryError messages are safe to show: they never hold values. */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { z } from 'zod'
import { isTenantryError, type ErrorCode } from '../demo-imports.js'

const statusByCode: Record<ErrorCode, ContentfulStatusCode> = {
  NOT_FOUND: 404,
  VALIDATION: 400,
  UNIQUE_VIOLATION: 409,
  FOREIGN_KEY_VIOLATION: 409,
  CHECK_VIOLATION: 400,
  NOT_NULL_VIOLATION: 400,
  CONTEXT_MISSING: 401,
  FORBIDDEN: 403,
  CONFLICT: 409,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  TOKEN_REUSED: 401,
  RETRYABLE: 503,
  // The change may or may not have been applied: the client must look before it tries again.
  OUTCOME_UNKNOWN: 500,
  CONFIGURATION: 500,
  DATABASE: 500,
}

/** `{ code, message, constraint?, issues? }` with the status that fits the code. */
export function errorResponse(c: Context, error: unknown): Response {
  if (isTenantryError(error)) {
    if (error.code === 'RETRYABLE') c.header('Retry-After', '1')
    const { code, message, constraint, issues } = error
    return c.json({ code, message, constraint, issues }, statusByCode[error.code])
  }
  if (error instanceof z.ZodError) {
    const issues = error.issues.map(({ path, code, message }) => ({ path, code, message }))
    return c.json({ code: 'VALIDATION', message: 'invalid request', issues }, 400)
  }
  if (error instanceof SyntaxError) return apiError(c, 400, 'VALIDATION', 'the body is not valid JSON')
  console.error('unexpected error', error instanceof Error ? error.name : typeof error)
  return c.json({ code: 'INTERNAL', message: 'internal error' }, 500)
}

/** A refusal of the API itself (not of tenantry), such as a missing bearer token. */
export function apiError(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ code, message }, status)
}
