import type { Insertable, Selectable, Updateable } from 'kysely'
import type { HookArgsOf, TableDeclaration, TableHooksOf } from './schema/table-declaration.js'
import type { TransactionScope } from './tenant-scope.js'
import { checkTableDefinition } from './schema/table-definition.js'

export type { SoftDeleteOption, TablePermissions } from './schema/table-declaration.js'

/** Arguments every hook receives: the validated context and the transaction it runs in. */
export interface HookArgs extends HookArgsOf<TransactionScope<any>> {}

/**
 * Per-table hooks. They run inside the write's transaction; throwing (for example with
 * `veto('reason')`) rolls the write back and leaves a `failure` audit row.
 */
export interface TableHooks<Row = Record<string, unknown>, Insert = Record<string, unknown>, Update = Record<string, unknown>>
  extends TableHooksOf<TransactionScope<any>, Row, Insert, Update> {}

/**
 * A host table as tenantry sees it. Build one with `defineTable`. `TTenant` is the tenant column as
 * a literal type (`string` when not given: the types then assume `tenant_id`).
 */
export interface TableDefinition<DB = any, TName extends keyof DB & string = any, TTenant extends string = string>
  extends TableDeclaration<TransactionScope<any>, DB, TName, TTenant> {
  hooks?: TableHooks<Selectable<DB[TName]>, Insertable<DB[TName]>, Updateable<DB[TName]>>
}

/**
 * Declares a host table for tenantry: where the tenant lives, how rows are soft-deleted, how input
 * is validated, what the audit trail leaves out, and hooks. Unknown keys are `VALIDATION`. A tenant
 * column other than `tenant_id` goes in the third type argument too, so `create()` treats it as
 * filled by tenantry.
 *
 * @example
 * const projects = defineTable<AppDB, 'projects'>({
 *   table: 'projects', tenantColumn: 'tenant_id', softDelete: 'deleted_at',
 *   insert: z.object({ name: z.string().min(1) }), audit: { exclude: ['secret'] },
 * })
 * const devices = defineTable<AppDB, 'devices', 'org_id'>({ table: 'devices', tenantColumn: 'org_id' })
 */
export function defineTable<DB, TName extends keyof DB & string, TTenant extends keyof DB[TName] & string = never>(
  definition: TableDefinition<DB, TName, [TTenant] extends [never] ? string : TTenant>,
): TableDefinition<DB, TName, [TTenant] extends [never] ? string : TTenant> {
  checkTableDefinition(definition, 'defineTable')
  return Object.freeze({ ...definition })
}
