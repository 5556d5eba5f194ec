import type { Insertable, Selectable, Updateable } from 'kysely'

/** The column tenantry fills when the table does not declare another one. */
export type DefaultTenantColumn = 'tenant_id'

// `K` optional, the rest of `T` as it was; flattened so editors show the columns, not the helper.
type SetOptional<T, K extends keyof T> = Flatten<Omit<T, K> & Partial<Pick<T, K>>>
type Flatten<T> = { [P in keyof T]: T[P] } & {}

/**
 * Insert input: the tenant column is optional, because the scope fills it. `TTenant` is the
 * table's declared tenant column (`tenant_id` unless `defineTable` names another).
 */
export type InsertInput<T, TTenant extends PropertyKey = DefaultTenantColumn> = SetOptional<T, Extract<keyof T, TTenant>>

/**
 * A row of `TName` as repositories return it.
 *
 * @example
 * type Project = Row<AppDB, 'projects'>
 */
export type Row<DB, TName extends keyof DB> = Selectable<DB[TName]>

/**
 * What `repo(TName).create()` takes: the table's insertable columns, with the tenant column optional.
 * Pass the tenant column when the table declares one other than `tenant_id`.
 *
 * @example
 * const input: CreateInput<AppDB, 'projects'> = { name: 'Apollo' }
 * const device: CreateInput<AppDB, 'devices', 'org_id'> = { serial: 'SN-1' }
 */
export type CreateInput<DB, TName extends keyof DB, TTenant extends string = DefaultTenantColumn> = InsertInput<Insertable<DB[TName]>, TTenant>

/**
 * What `repo(TName).update()` takes as its patch.
 *
 * @example
 * const patch: UpdateInput<AppDB, 'projects'> = { status: 'paused' }
 */
export type UpdateInput<DB, TName extends keyof DB> = Updateable<DB[TName]>

/**
 * The tenant column a table definition declares, as a literal; `tenant_id` when the definition
 * does not carry one (a `defineTable` call without its third type argument that names another).
 */
export type TenantColumnOf<Definition> = Definition extends { readonly tenantColumn?: infer T }
  ? [Exclude<T, undefined>] extends [never]
    ? DefaultTenantColumn
    : string extends Exclude<T, undefined>
      ? DefaultTenantColumn
      : Exclude<T, undefined>
  : DefaultTenantColumn

/** The tenant column of the repository named `TName` in a `tables` map. */
export type TenantColumnIn<Tables, TName> = TName extends keyof Tables ? TenantColumnOf<Tables[TName]> : DefaultTenantColumn
