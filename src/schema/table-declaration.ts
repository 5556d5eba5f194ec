import type { Insertable, Selectable, Updateable } from 'kysely'
import type { z } from 'zod'
import type { TenantContext } from '../validation/context.js'
import type { ReferenceOption } from './reference-option.js'

/**
 * How a table marks deleted rows: a timestamp column (`'deleted_at'`), or a boolean flag as older
 * schemas have (`{ flag: 'is_active', deletedWhen: false }`), optionally with a timestamp kept
 * consistent (`{ flag: 'is_active', deletedWhen: false, timestamp: 'deleted_at' }`).
 */
export type SoftDeleteOption = string | { flag: string; deletedWhen: boolean; timestamp?: string }

/**
 * Permissions (`resource:action`, as `scope.can` takes) a tenant scope's actor must hold to read
 * or to write a table, through its repository and through `scope.db`. A list means all of them.
 */
export interface TablePermissions {
  read?: string | readonly string[]
  write?: string | readonly string[]
}

/** Arguments every hook receives: the validated context and the transaction (of type `Tx`) it runs in. */
export interface HookArgsOf<Tx> {
  context: TenantContext | null
  /** The transaction of the write; queries here commit or roll back with it. */
  tx: Tx
  table: string
}

/**
 * Per-table hooks. They run inside the write's transaction; throwing (for example with
 * `veto('reason')`) rolls the write back and leaves a `failure` audit row. The update and delete
 * hooks get `before`: the affected rows as they were. In `afterUpdate`/`afterDelete`, `before[i]`
 * is `rows[i]` as it was (read by the write's own statement); in `beforeUpdate`/`beforeDelete`, the
 * rows the write matches, locked until the transaction ends (one extra read, only when such a hook
 * is declared).
 */
// Method syntax keeps hook parameters bivariant, so a table's typed hooks fit `tables: Record<...>`.
export interface TableHooksOf<Tx, Row = Record<string, unknown>, Insert = Record<string, unknown>, Update = Record<string, unknown>> {
  /** May return a replacement input. */
  beforeCreate?(input: Insert, args: HookArgsOf<Tx>): void | Insert | Promise<void | Insert>
  afterCreate?(row: Row, args: HookArgsOf<Tx>): void | Promise<void>
  /** May return a replacement patch. Runs once per call (also for `updateMany`); `before`: the matched rows, locked. */
  beforeUpdate?(patch: Update, args: HookArgsOf<Tx> & { ids: unknown[] | null; before: Row[] }): void | Update | Promise<void | Update>
  /** `before[i]` is `rows[i]` as it was. */
  afterUpdate?(rows: Row[], args: HookArgsOf<Tx> & { before: Row[] }): void | Promise<void>
  /** `kind` tells a soft delete from a purge; `before`: the matched rows, locked. */
  beforeDelete?(ids: unknown[] | null, args: HookArgsOf<Tx> & { kind: 'soft' | 'purge'; before: Row[] }): void | Promise<void>
  /** `before[i]` is `rows[i]` as it was (for a purge, the row removed). */
  afterDelete?(rows: Row[], args: HookArgsOf<Tx> & { kind: 'soft' | 'purge'; before: Row[] }): void | Promise<void>
}

/**
 * A host table as tenantry sees it, with the type of the hooks' transaction open: the layers below
 * the front door read declarations as `TableDeclaration` (hooks' `tx` is `unknown` there), and
 * `define-table.ts` fixes `Tx` to `TransactionScope` for the public `TableDefinition`.
 */
export interface TableDeclaration<Tx = unknown, DB = any, TName extends keyof DB & string = any, TTenant extends string = string> {
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
  hooks?: TableHooksOf<Tx, Selectable<DB[TName]>, Insertable<DB[TName]>, Updateable<DB[TName]>>
  /** Permissions every read and every write of the table needs (`asSystem` bypasses them); see docs/rbac.md. */
  permissions?: TablePermissions
  /**
   * Columns holding another declared table's primary key: `{ project_id: 'projects' }`, or
   * `{ project_id: { table: 'projects', onSoftDelete: 'cascade' } }`. Writes check that the id names
   * a live row of the same tenant; see docs/schema.md.
   */
  references?: { [Column in keyof DB[TName] & string]?: ReferenceOption }
}
