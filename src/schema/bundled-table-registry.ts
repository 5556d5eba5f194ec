/**
 * tenantry's own tables, listed once. The repository models (`builtin-tables.ts`), RBAC's
 * `invitations` model, the row-level security and Citus targets, the schema lint, the `scope.db`
 * policy and the `BuiltinDatabase` type (checked at compile time) all read this list, so a new
 * bundled table is declared here and nowhere else.
 */
export interface BundledTable {
  /** Column that holds the tenant of a row: `id` for `tenants`, `null` when the row has none of its own. */
  tenantColumn: 'tenant_id' | 'id' | null
  /** `users` are visible in a tenant through a live membership. */
  tenantThrough?: { table: string; memberColumn: string }
  /** Soft-deleted through `deleted_at`. */
  softDelete: boolean
  /** Columns never written to an audit row (on top of `audit.redact`). */
  redact?: readonly string[]
  /** Columns matched case-insensitively, the way their unique key matches. */
  caseInsensitive?: readonly string[]
  /** `false` for the audit trail itself. */
  audited?: boolean
  /** A repository model on every scope (`scope.tenants`, ...; `BuiltinTableName`). */
  model: boolean
  /** Has a row type in `BuiltinDatabase` (what `scope.db` offers typed). */
  typed: boolean
  /** `scope.db` reads it scoped, or refuses it (token hashes and session data). */
  scopedDb: 'read' | 'refused'
  /** Columns a tenant may read through `scope.db`, when not all of them. */
  visibleColumns?: readonly string[]
  /** Rows without a tenant are shared with every tenant (system roles). */
  sharesSystemRows?: boolean
  /** The API that writes it, named when `scope.db` refuses a write. */
  writtenThrough: string
  /**
   * Its place on a Citus cluster: a `reference` table (a copy on every node), `distributed` by
   * `tenant_id` and co-located, or `local` to the coordinator (tokens, looked up by selector alone).
   */
  citus: 'reference' | 'distributed' | 'local'
}

export const BUNDLED_TABLES = {
  tenants: { tenantColumn: 'id', softDelete: true, model: true, typed: true, scopedDb: 'read', writtenThrough: 'asSystem(...).tenants', citus: 'reference' },
  users: {
    tenantColumn: null,
    tenantThrough: { table: 'memberships', memberColumn: 'user_id' },
    softDelete: true,
    redact: ['password_hash'],
    // The unique key is on lower(email): a lookup must match the way the key does.
    caseInsensitive: ['email'],
    model: true,
    typed: true,
    scopedDb: 'read',
    visibleColumns: ['id', 'email', 'external_id', 'display_name', 'status', 'last_login_at', 'metadata', 'created_at', 'updated_at', 'deleted_at'],
    writtenThrough: 'asSystem(...).users',
    citus: 'reference',
  },
  memberships: {
    tenantColumn: 'tenant_id',
    softDelete: true,
    model: true,
    typed: true,
    scopedDb: 'read',
    writtenThrough: 'scope.memberships',
    citus: 'distributed',
  },
  roles: {
    tenantColumn: 'tenant_id',
    softDelete: true,
    model: true,
    typed: true,
    scopedDb: 'read',
    sharesSystemRows: true,
    writtenThrough: 'scope.roles',
    citus: 'reference',
  },
  user_roles: {
    tenantColumn: 'tenant_id',
    softDelete: false,
    model: true,
    typed: true,
    scopedDb: 'read',
    writtenThrough: 'scope.roles.assign / unassign',
    citus: 'distributed',
  },
  invitations: {
    tenantColumn: 'tenant_id',
    softDelete: false,
    // With a leaked secret, the selector and the secret's hash would be a token.
    redact: ['selector', 'secret_hash'],
    model: false,
    typed: false,
    scopedDb: 'refused',
    writtenThrough: 'scope.invitations',
    citus: 'distributed',
  },
  // Read through `scope.auditLog`; the trail itself is never audited.
  audit_logs: {
    tenantColumn: 'tenant_id',
    softDelete: false,
    audited: false,
    model: true,
    typed: false,
    scopedDb: 'read',
    writtenThrough: 'scope.auditLog.record',
    citus: 'distributed',
  },
  sessions: {
    tenantColumn: 'tenant_id',
    softDelete: false,
    model: false,
    typed: false,
    scopedDb: 'refused',
    writtenThrough: 'tenantry.tokens',
    citus: 'local',
  },
  refresh_tokens: { tenantColumn: null, softDelete: false, model: false, typed: false, scopedDb: 'refused', writtenThrough: 'tenantry.tokens', citus: 'local' },
} as const satisfies Record<string, BundledTable>

export type BundledTableName = keyof typeof BUNDLED_TABLES

type NamesWhere<Flag extends 'model' | 'typed'> = {
  [K in BundledTableName]: (typeof BUNDLED_TABLES)[K][Flag] extends true ? K : never
}[BundledTableName]

/** Names of the bundled tables exposed as `scope.tenants`, `scope.users`, ... */
export type BuiltinTableName = NamesWhere<'model'>

/** The bundled tables with a row type in `BuiltinDatabase`. */
export type TypedBundledTableName = NamesWhere<'typed'>

/** Every bundled table, in the order the migrations create them. */
export const BUNDLED_TABLE_NAMES = Object.keys(BUNDLED_TABLES) as BundledTableName[]

/** The registry entry of a bundled table, or `undefined` for any other name. */
export function bundledTable(name: string): BundledTable | undefined {
  return Object.hasOwn(BUNDLED_TABLES, name) ? (BUNDLED_TABLES as Record<string, BundledTable>)[name] : undefined
}
