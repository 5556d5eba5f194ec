import { TenantryError, type TenantryErrorDetails } from '../errors/tenantry-error.js'

/**
 * PostgreSQL text cannot hold a NUL byte (U+0000), and jsonb refuses `\u0000`; the database would
 * answer with an untyped error (SQLSTATE 22021 / 22P05). These checks refuse such values first,
 * naming the column or field and never the value.
 */

function isWalkable(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Path (keys and indexes) of the first string holding a NUL byte, in strings, arrays and plain objects; `null` if none. */
export function findNulByte(value: unknown, seen: Set<object> = new Set()): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : null
  if (!isWalkable(value) || seen.has(value)) return null
  seen.add(value)
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value)
  for (const [key, inner] of entries) {
    // A key is data too (a role name, a metadata key): the path stops at its holder.
    if (typeof key === 'string' && key.includes('\u0000')) return []
    const path = findNulByte(inner, seen)
    if (path) return [key, ...path]
  }
  return null
}

/**
 * Refuses a NUL byte anywhere in `value` (an input object, an option, a filter value), also in
 * keys. The error names the column (`details.column`) or the top-level field, never the value.
 *
 * @example
 * refuseNulBytes(input, 'auditLog.record')                   // names the top-level field, e.g. "metadata"
 * refuseNulBytes(value, 'projects.findMany', { column: 'name', table: 'projects' })
 */
export function refuseNulBytes(value: unknown, operation: string, details: Pick<TenantryErrorDetails, 'column' | 'table'> = {}): void {
  const path = findNulByte(value)
  if (path === null) return
  // Only the column or top-level field is named: deeper keys may be data (metadata keys, JSON).
  const top = path[0]
  const column = details.column ?? (typeof top === 'string' ? top : undefined)
  const field = column ?? (top === undefined ? '(value)' : `[${top}]`)
  throw new TenantryError('VALIDATION', `${operation}: "${field}" contains a NUL byte, which PostgreSQL text cannot store`, {
    ...details,
    ...(column ? { column } : {}),
    operation,
    issues: [{ path: column ? [column] : top === undefined ? [] : [top], code: 'nul_byte', message: 'contains a NUL byte' }],
  })
}

/**
 * Checks a value bound for a json/jsonb column (or JSON metadata): it must serialise to JSON
 * without loss or surprise. BigInt, functions, symbols and circular structures are refused (JSON
 * cannot carry them; `JSON.stringify` would throw a bare `TypeError` or drop them silently), and
 * so are NUL bytes in strings and keys (jsonb refuses `\u0000`).
 *
 * @example
 * checkJsonValue({ a: 1n }, 'auditLog.record', { column: 'metadata' }) // throws VALIDATION naming metadata
 */
export function checkJsonValue(value: unknown, operation: string, details: Pick<TenantryErrorDetails, 'column' | 'table'> & { column: string }): void {
  const refuse = (reason: string): never => {
    throw new TenantryError('VALIDATION', `${operation}: "${details.column}" ${reason}`, {
      ...details,
      operation,
      issues: [{ path: [details.column], code: 'invalid_json', message: reason }],
    })
  }
  const ancestors: object[] = []
  try {
    JSON.stringify(value, function (this: unknown, key: string, inner: unknown) {
      // `this` is the holder of `key`: drop the ancestors that are no longer on the path.
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop()
      if (key.includes('\u0000')) refuse('has a key with a NUL byte, which jsonb cannot store')
      if (typeof inner === 'string' && inner.includes('\u0000')) refuse('contains a NUL byte, which jsonb cannot store')
      if (typeof inner === 'bigint') refuse('holds a BigInt, which JSON cannot represent (pass a string or number)')
      if (typeof inner === 'function' || typeof inner === 'symbol') refuse(`holds a ${typeof inner}, which JSON cannot represent`)
      if (typeof inner === 'object' && inner !== null) {
        if (ancestors.includes(inner)) refuse('is circular, which JSON cannot represent')
        ancestors.push(inner)
      }
      return inner
    })
  } catch (error) {
    if (error instanceof TenantryError) throw error
    // Anything else JSON.stringify throws (a throwing toJSON, a circular path it found first).
    refuse('cannot be serialised to JSON')
  }
}
