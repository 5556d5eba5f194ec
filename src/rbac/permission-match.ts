import { TenantryError } from '../errors/tenantry-error.js'
import { isPermission } from '../validation/permission-name.js'

/** A permission split into its two sides. */
export interface Permission {
  resource: string
  action: string
}

/**
 * Splits a permission string; anything malformed is a `VALIDATION` error. Permissions are names a
 * host chose, not secrets, so the message quotes the string (shortened).
 *
 * @example
 * parsePermission('projects:read') // { resource: 'projects', action: 'read' }
 * parsePermission('Projects')      // throws TenantryError VALIDATION
 */
export function parsePermission(value: unknown, operation = 'permission'): Permission {
  if (!isPermission(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : typeof value
    throw new TenantryError('VALIDATION', `${operation}: ${shown} is not a permission ("resource:action", lower-case names or *)`, {
      operation,
    })
  }
  const colon = value.indexOf(':')
  return { resource: value.slice(0, colon), action: value.slice(colon + 1) }
}

/**
 * Whether one granted permission covers a requested one. A `*` in a grant matches any name on
 * its side; a `*` in a request is matched only by a `*` grant, so `can('projects:*')` asks for
 * every action on projects, not for any one of them.
 *
 * @example
 * permissionCovers('*:read', 'projects:read')    // true
 * permissionCovers('projects:*', 'projects:write') // true
 * permissionCovers('projects:read', 'projects:*')  // false
 */
export function permissionCovers(granted: string, requested: string): boolean {
  if (!isPermission(granted)) return false
  const g = parsePermission(granted)
  const r = parsePermission(requested)
  return (g.resource === '*' || g.resource === r.resource) && (g.action === '*' || g.action === r.action)
}

/** Whether any of `granted` covers `requested` (already validated). */
export function anyPermissionCovers(granted: readonly string[], requested: string): boolean {
  return granted.some((g) => permissionCovers(g, requested))
}

/**
 * Validates and de-duplicates a list of permissions, keeping the first occurrence's order.
 * Anything malformed is a `VALIDATION` error naming its index.
 */
export function normalisePermissions(values: unknown, operation: string): string[] {
  if (!Array.isArray(values)) throw new TenantryError('VALIDATION', `${operation}: permissions must be an array of strings`, { operation })
  if (values.length > 1000) throw new TenantryError('VALIDATION', `${operation}: at most 1000 permissions per role`, { operation })
  for (const [index, value] of values.entries()) parsePermission(value, `${operation} (permissions[${index}])`)
  return [...new Set(values as string[])]
}
