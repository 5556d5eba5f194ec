import type { z } from 'zod'
import { TenantryError, type TenantryErrorDetails } from '../errors/tenantry-error.js'
import { validationError } from '../errors/validation-error.js'
import { refuseNulBytes } from './text-value.js'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Refuses option keys a method does not know. A misspelt option (`{ expectedUpdateAt }`) would
 * otherwise be ignored and switch a safety check off without a word. The error names the key and
 * the method, never a value. `undefined` options are fine (every option is optional).
 *
 * @example
 * const opts = checkOptionKeys(options, ['expectedUpdatedAt'], 'projects.update')
 */
export function checkOptionKeys(
  options: unknown,
  allowed: readonly string[],
  operation: string,
  details: Pick<TenantryErrorDetails, 'table'> = {},
): Record<string, unknown> {
  if (options === undefined) return {}
  if (!isObject(options)) throw new TenantryError('VALIDATION', `${operation}: options must be an object`, { ...details, operation })
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const expected = allowed.length ? `expected ${allowed.join(', ')}` : 'it takes no options'
      throw new TenantryError('VALIDATION', `${operation}: unknown option "${key}" (${expected})`, {
        ...details,
        operation,
        issues: [{ path: [key], code: 'unrecognized_keys', message: `unknown option "${key}"` }],
      })
    }
  }
  return options
}

/**
 * Parses a method's input or options with a strict zod schema (unknown keys are `VALIDATION`)
 * and refuses NUL bytes in any string of it, naming the field.
 *
 * @example
 * const input = parseInput(recordSchema, value, 'auditLog.record', 'invalid event')
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, operation: string, what = 'invalid input'): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw validationError(`${operation}: ${what}`, parsed.error, { operation })
  refuseNulBytes(value, operation)
  return parsed.data
}
