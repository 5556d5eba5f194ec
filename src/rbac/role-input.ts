import type { Selectable } from 'kysely'
import { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import { validationError } from '../errors/validation-error.js'
import type { BuiltinDatabase } from '../schema/builtin-database.js'
import { normalisePermissions } from './permission-match.js'
import { refuseNulBytes } from '../validation/text-value.js'

/** A row of `roles`. `tenant_id` is `null` for a system role. */
export type RoleRow = Selectable<BuiltinDatabase['roles']>

/** A row of `user_roles`: one role of one member in one tenant. */
export type UserRoleRow = Selectable<BuiltinDatabase['user_roles']>

/** Input of `scope.roles.create`. */
export interface RoleCreateInput {
  name: string
  /** `resource:action` strings; `*` on either side. Defaults to none. */
  permissions?: readonly string[]
  description?: string | null
  /** Only in a system scope: the tenant of the role; omitted or `null` makes a system role. */
  tenant_id?: string | null
}

/** Patch of `scope.roles.update`. */
export interface RoleUpdateInput {
  name?: string
  permissions?: readonly string[]
  description?: string | null
}

/** One entry of `seedDefaultRoles`: the permissions, or the permissions with a description. */
export type RoleDefinition = readonly string[] | { permissions: readonly string[]; description?: string | null }

const roleName = z.string().trim().min(1).max(100)
const description = z.string().max(1000).nullish()

const createSchema = z.strictObject({
  name: roleName,
  permissions: z.unknown().optional(),
  description,
  tenant_id: z.uuid().nullish(),
})

const updateSchema = z.strictObject({
  name: roleName.optional(),
  permissions: z.unknown().optional(),
  description,
})

/** Validates a role to create: a trimmed name, well-formed de-duplicated permissions. */
export function parseRoleCreate(input: unknown, operation: string): RoleCreateInput & { permissions: string[] } {
  const parsed = createSchema.safeParse(input)
  if (!parsed.success) throw validationError(`${operation}: invalid role`, parsed.error, { table: 'roles', operation })
  refuseNulBytes(input, operation, { table: 'roles' })
  const { permissions, ...rest } = parsed.data
  return { ...rest, permissions: permissions === undefined ? [] : normalisePermissions(permissions, operation) }
}

/** Validates a role patch; an empty patch is refused. */
export function parseRoleUpdate(patch: unknown, operation: string): RoleUpdateInput {
  const parsed = updateSchema.safeParse(patch)
  if (!parsed.success) throw validationError(`${operation}: invalid role patch`, parsed.error, { table: 'roles', operation })
  refuseNulBytes(patch, operation, { table: 'roles' })
  const { permissions, ...rest } = parsed.data
  const values: RoleUpdateInput = { ...rest }
  if (permissions !== undefined) values.permissions = normalisePermissions(permissions, operation)
  if (Object.keys(values).length === 0) throw new TenantryError('VALIDATION', `${operation}: the patch changes nothing`, { table: 'roles', operation })
  return values
}

/** Validates `seedDefaultRoles` definitions into name → { permissions, description }. */
export function parseRoleDefinitions(definitions: unknown, operation: string): Map<string, { permissions: string[]; description: string | null }> {
  if (definitions === null || typeof definitions !== 'object' || Array.isArray(definitions)) {
    throw new TenantryError('VALIDATION', `${operation}: expects an object of role name → permissions`, { operation })
  }
  refuseNulBytes(definitions, operation, { table: 'roles' })
  const result = new Map<string, { permissions: string[]; description: string | null }>()
  const seen = new Set<string>()
  for (const [rawName, definition] of Object.entries(definitions)) {
    const name = roleName.safeParse(rawName)
    if (!name.success) throw validationError(`${operation}: invalid role name`, name.error, { operation })
    // Role names are unique case-insensitively (`roles_tenant_name_live_key` is on lower(name)).
    if (seen.has(name.data.toLowerCase())) throw new TenantryError('VALIDATION', `${operation}: role "${name.data}" is defined twice`, { operation })
    seen.add(name.data.toLowerCase())
    const entry = Array.isArray(definition) ? { permissions: definition } : (definition as { permissions?: unknown; description?: unknown })
    if (entry === null || typeof entry !== 'object') {
      throw new TenantryError('VALIDATION', `${operation}: role "${name.data}" needs a permissions array`, { operation })
    }
    const text = description.safeParse(entry.description)
    if (!text.success) throw validationError(`${operation}: invalid description of "${name.data}"`, text.error, { operation })
    result.set(name.data, { permissions: normalisePermissions(entry.permissions, `${operation} (${name.data})`), description: text.data ?? null })
  }
  if (result.size === 0) throw new TenantryError('VALIDATION', `${operation}: no roles to seed`, { operation })
  return result
}
