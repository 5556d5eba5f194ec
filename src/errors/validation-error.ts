import type { z } from 'zod'
import { TenantryError, type ValidationIssue } from './tenantry-error.js'

/** Reduces zod issues to path, code and message: the rejected value is never copied. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    code: issue.code,
    message: issue.message,
  }))
}

/** Where an issue is: its path, or for unknown keys the keys themselves (names, never values). */
function issueLocation(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => String(p))
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `unknown key "${[...path, key].join('.')}"`).join(', ')
  if (issue.code === 'invalid_union') {
    // A union (e.g. softDelete: string | { flag, ... }) hides a misspelt key in one branch: name it.
    const unknown = issue.errors.flat().filter((inner) => inner.code === 'unrecognized_keys')
    if (unknown.length) return unknown.map((inner) => issueLocation({ ...inner, path: [...issue.path, ...inner.path] })).join(', ')
  }
  return path.length ? path.join('.') : '(root)'
}

/** A `VALIDATION` error carrying zod's issues (paths and reasons, never the input); unknown keys are named. */
export function validationError(message: string, error: z.ZodError, details: { table?: string; operation?: string } = {}): TenantryError {
  const issues = toValidationIssues(error)
  const where = error.issues.map(issueLocation).join(', ')
  return new TenantryError('VALIDATION', `${message} (${where})`, { ...details, issues })
}

/** A `VALIDATION` error about one column, e.g. an unknown column in `where` or `orderBy`. */
export function columnError(message: string, column: string, details: { table?: string; operation?: string } = {}): TenantryError {
  return new TenantryError('VALIDATION', message, { ...details, column })
}
