import type { Insertable, Selectable, Updateable } from 'kysely'
import type { z } from 'zod'
import type { TenantContext } from './context.js'
import type { TransactionScope } from './scope/tenant-scope.js'
import { checkTableDefinition } from './validation/table-definition.js'

/**
 * How a table marks deleted rows: a timestamp column (`'deleted_at'`), or a boolean flag as older
 * schemas have (`{ flag: 'is_active', deletedWhen: false }`), optionally with a timestamp kept
 * consistent (`{ flag: 'is_active', deletedWhen: false, timestamp: 'deleted_at' }`).
 */
export type SoftDeleteOption = string | { flag: string; deletedWhen: boolean; timestamp?: string }

/** Arguments every hook receives: the validated context and the transaction it runs in. */
export interface HookArgs {
  context: TenantContext | null
  /** The transaction of the write; queries here commit or roll back with it. */
  tx: TransactionScope<any>
  table: string
}

/**
 * Per-table hooks. They run inside the write's transaction; throwing (for example with
 * `veto('reason')`) rolls the write back and leaves a `failure` audit row.
 */
// Method syntax keeps hook parameters bivariant, so a table's typed hooks fit `tables: Record<...>`.
export interface TableHooks<Row = Record<string, unknown>, Insert = Record<string, unknown>, Update = Record<string, unknown>> {
  /** May return a replacement input. */
  beforeCreate?(input: Insert, args: HookArgs): void | Insert | Promise<void | Insert>
  afterCreate?(row: Row, args: HookArgs): void | Promise<void>
  /** May return a replacement patch. Runs once per call (also for `updateMany`). */
  beforeUpdate?(patch: Update, args: HookArgs & { ids: unknown[] | null }): void | Update | Promise<void | Update>
  afterUpdate?(rows: Row[], args: HookArgs): void | Promise<void>
  /** `kind` tells a soft delete from a purge. */
  beforeDelete?(ids: unknown[] | null, args: HookArgs & { kind: 'soft' | 'purge' }): void | Promise<void>
  afterDelete?(rows: Row[], args: HookArgs & { kind: 'soft' | 'purge' }): void | Promise<void>
}

/**
 * A host table as tenantry sees it. Build one with `defineTable`. `TTenant` is the tenant column as
 * a literal type (`string` when not given: the types then assume `tenant_id`).
 */
export interface TableDefinition<DB = any, TName extends keyof DB & string = any, TTenant extends string = string> {
  /** Table name in the database. */
  table: TName
  /** Postgres schema of the table. Defaults to `public`. */
  schema?: string
  /** Primary key column. Defaults to `id`. */
  primaryKey?: string
  /** Column holding the tenant id. Defaults to `tenant_id`. */
  tenantColumn?: TTenant
  /** Soft-delete strategy; omit for tables without soft delete. */
  softDelete?: SoftDeleteOption
  /** zod schema for `create` input (tenant column excluded: tenantry fills it). */
  insert?: z.ZodType<Partial<Insertable<DB[TName]>>>
  /** zod schema for `update` patches. */
  update?: z.ZodType<Partial<Updateable<DB[TName]>>>
  /** Audit settings: `exclude` lists columns never written to the audit trail; `enabled: false` turns auditing off. */
  audit?: { exclude?: string[]; enabled?: boolean }
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
