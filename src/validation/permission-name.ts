/**
 * `resource:action`, each side a lower-case name or `*`. The same rule as the database check
 * `{{schema}}.permissions_are_valid`, so a string accepted here is never refused by the table.
 * Here, below `schema/`, so that `defineTable({ permissions })` and the RBAC checks share it.
 */
export const PERMISSION_PATTERN = /^(\*|[a-z0-9][a-z0-9_.-]*):(\*|[a-z0-9][a-z0-9_.-]*)$/

/** Long enough for any sensible name; refuses megabyte strings before the regex runs. */
export const MAX_PERMISSION_LENGTH = 200

/**
 * Whether `value` is a well-formed permission string.
 *
 * @example
 * isPermission('projects:read') // true
 * isPermission('Projects')      // false
 */
export function isPermission(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PERMISSION_LENGTH && PERMISSION_PATTERN.test(value)
}
