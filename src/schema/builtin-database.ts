import type { ColumnType, Generated } from 'kysely'
import type { TypedBundledTableName } from './bundled-table-registry.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
type Json = ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>

/** Kysely types of the bundled tables. */
export interface BuiltinDatabase {
  tenants: {
    id: Generated<string>
    slug: string
    name: string
    status: ColumnType<'active' | 'suspended' | 'archived' | 'pending', 'active' | 'suspended' | 'archived' | 'pending' | undefined>
    type: string | null
    metadata: Json
    created_at: Generated<Date>
    updated_at: Timestamp
    deleted_at: NullableTimestamp
  }
  users: {
    id: Generated<string>
    email: string
    external_id: string | null
    display_name: string | null
    password_hash: string | null
    status: ColumnType<'active' | 'invited' | 'suspended' | 'disabled', 'active' | 'invited' | 'suspended' | 'disabled' | undefined>
    last_login_at: NullableTimestamp
    metadata: Json
    created_at: Generated<Date>
    updated_at: Timestamp
    deleted_at: NullableTimestamp
  }
  memberships: {
    id: Generated<string>
    tenant_id: string
    user_id: string
    status: ColumnType<'active' | 'invited' | 'suspended', 'active' | 'invited' | 'suspended' | undefined>
    created_at: Generated<Date>
    updated_at: Timestamp
    deleted_at: NullableTimestamp
  }
  roles: {
    id: Generated<string>
    tenant_id: string | null
    name: string
    description: string | null
    permissions: ColumnType<string[], string[] | undefined, string[]>
    created_at: Generated<Date>
    updated_at: Timestamp
    deleted_at: NullableTimestamp
  }
  user_roles: {
    id: Generated<string>
    tenant_id: string
    user_id: string
    role_id: string
    created_at: Generated<Date>
    updated_at: Timestamp
  }
}

/** `true` when `A` and `B` are the same union. */
type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type MustBeTrue<T extends true> = T

/**
 * Compile-time check: `BuiltinDatabase` types exactly the bundled tables the registry marks `typed`
 * (`bundled-table-registry.ts`); adding a table to one and not the other fails the type check.
 */
// biome-ignore lint/correctness/noUnusedVariables: a compile-time check; it is never referenced
type BuiltinDatabaseMatchesRegistry = MustBeTrue<SameUnion<keyof BuiltinDatabase, TypedBundledTableName>>

/**
 * The host's tables joined with the bundled ones under their schema (`tenantry.users`, ...): the
 * database `scope.db` queries. Pass the schema when `createTenantry({ schema })` changed it.
 *
 * @example
 * const db: Kysely<TenantryDatabase<AppDB>> = scope.db
 * await db.selectFrom('tenantry.memberships').select('user_id').execute()
 */
export type TenantryDatabase<DB, Schema extends string = 'tenantry'> = DB & {
  [K in keyof BuiltinDatabase as `${Schema}.${K}`]: BuiltinDatabase[K]
}
