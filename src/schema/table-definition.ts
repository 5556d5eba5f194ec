import { z } from 'zod'
import type { TableDeclaration } from './table-declaration.js'
import { parseInput } from '../validation/strict-options.js'
import { isPermission } from '../validation/permission-name.js'
import { referencesSchema } from './references.js'

const name = z.string().min(1).max(63)
const hook = z.function().optional()
// Duck-typed, not `instanceof`: the host's zod may be another copy of the package than ours.
const schemaLike = z.custom<z.ZodType>(
  (value) => typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function',
  'a zod schema (an object with safeParse)',
)
const permission = z.string().refine(isPermission, 'a permission ("resource:action", lower-case names or *)')
// One permission, or several that are all required.
const permissions = z.union([permission, z.array(permission).min(1).max(100)]).optional()

/**
 * The keys `defineTable` knows, strictly: a misspelt `softdelete` or `audit.exlude` would
 * otherwise leave rows undeletable or a secret in the audit trail, without a word.
 */
const definitionSchema = z.strictObject({
  table: name,
  schema: name.optional(),
  primaryKey: name.optional(),
  tenantColumn: name.optional(),
  softDelete: z.union([name, z.strictObject({ flag: name, deletedWhen: z.boolean(), timestamp: name.optional() })]).optional(),
  insert: schemaLike.optional(),
  update: schemaLike.optional(),
  audit: z.strictObject({ exclude: z.array(name).optional(), enabled: z.boolean().optional() }).optional(),
  hooks: z
    .strictObject({
      beforeCreate: hook,
      afterCreate: hook,
      beforeUpdate: hook,
      afterUpdate: hook,
      beforeDelete: hook,
      afterDelete: hook,
    })
    .optional(),
  permissions: z.strictObject({ read: permissions, write: permissions }).optional(),
  references: referencesSchema.optional(),
})

/**
 * Checks a table definition (`defineTable`, or an object given to `createTenantry({ tables })`):
 * unknown keys and wrongly typed options are `VALIDATION` naming them.
 *
 * @example
 * checkTableDefinition({ table: 'projects', softdelete: 'deleted_at' }, 'defineTable') // VALIDATION: unknown key "softdelete"
 */
export function checkTableDefinition(definition: unknown, operation: string): TableDeclaration {
  parseInput(definitionSchema, definition, operation, 'invalid table definition')
  return definition as TableDeclaration
}
