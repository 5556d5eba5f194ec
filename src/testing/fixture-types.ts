import type { Insertable, Selectable } from 'kysely'
import type { RoleDefinition } from '../rbac/role-input.js'
import type { BuiltinDatabase } from '../schema/builtin-database.js'
import type { IssuedToken, IssueInput, TokenService } from '../tokens/index.js'
import type { FixtureFaker } from './fixture-faker.js'

export type TenantRow = Selectable<BuiltinDatabase['tenants']>
export type UserRow = Selectable<BuiltinDatabase['users']>
export type MembershipRow = Selectable<BuiltinDatabase['memberships']>
export type RoleRow = Selectable<BuiltinDatabase['roles']>
export type UserRoleRow = Selectable<BuiltinDatabase['user_roles']>

/** A tenant: its row (as `fx.tenant()` returns it), `{ id }`, or its id. */
export type TenantRef = string | { id: string }
/** A user: its row (as `fx.user()` returns it), `{ id }`, or its id. */
export type UserRef = string | { id: string }
/**
 * A role: its row or `{ id }`; a role id or name (found in the tenant, else among system roles);
 * or `{ name, permissions }`, found by name in the tenant or created there.
 */
export type RoleRef = string | { id: string } | { name: string; permissions?: readonly string[]; description?: string | null }

export interface CreateFixturesOptions {
  /** Every generated value derives from it. Defaults to `'tenantry'`. */
  seed?: string | number
  /**
   * Tag appended to unique columns only (tenant slugs, emails, `unique()` in factories). Defaults to
   * a random tag per fixture set, so sets sharing a database never collide; pass `''` for
   * byte-identical values across runs when each run has a database of its own.
   */
  namespace?: string
  /** Reason of the audited system scope that creates tenants, users and roles. Defaults to `'test fixtures'`. */
  reason?: string
  /** Token service for `fx.session`. Defaults to `tenantry.tokens`. */
  tokens?: TokenIssuer
  /**
   * Roles every tenant made by `fx.tenant()` starts with, seeded as `roles.seedDefaultRoles` does.
   * Defaults to `DEFAULT_FIXTURE_ROLES` (`admin`: `*:*`, `viewer`: `*:read`); `false` for none.
   */
  defaultRoles?: Record<string, RoleDefinition> | false
}

export type TenantOverrides = Partial<Insertable<BuiltinDatabase['tenants']>>

export interface UserFixtureOptions extends Partial<Insertable<BuiltinDatabase['users']>> {
  /** Makes an active membership in this tenant. Required when `roles` are given. */
  tenant?: TenantRef
  /** Roles granted in `tenant`: a default role's name (`'admin'`), a row, or `{ name, permissions }`. */
  roles?: readonly RoleRef[]
  /** Status of the membership. Defaults to `active`. */
  membershipStatus?: 'active' | 'invited' | 'suspended'
}

/** A user made by `fx.user`: the `users` row, plus its membership and roles in `tenant`. */
export type FixtureUser = UserRow & {
  membership: MembershipRow | null
  roles: RoleRow[]
}

export interface MembershipFixtureOptions {
  user: UserRef
  tenant: TenantRef
  roles?: readonly RoleRef[]
  status?: 'active' | 'invited' | 'suspended'
}

export interface RoleFixtureOptions {
  /** The tenant of the role; `null` makes a system role. */
  tenant: TenantRef | null
  /** Defaults to a generated, unique name. */
  name?: string
  /** Permission strings such as `projects:read` or `*:*`. Defaults to none. */
  permissions?: readonly string[]
  description?: string | null
}

/** What a factory registered with `fx.define` receives. */
export interface FactoryContext {
  /** 1 for the first row of this table made by this fixture set, then 2, 3, ... */
  seq: number
  /** The tenant the row is made for (the reference that was passed, as an object). */
  tenant: { id: string } & Partial<TenantRow>
  /** A generator seeded for this table and `seq`: the same row values for the same seed. */
  faker: FixtureFaker
  /** `base` made unique within the fixture set and tagged with its namespace: use it for unique columns. */
  unique: (base: string) => string
}

export type Factory<Insert> = (context: FactoryContext) => Partial<Insert>

export interface CreateOptions<Insert> {
  tenant: TenantRef
  /** Values that win over the factory's. */
  overrides?: Partial<Insert>
  /** Actor of the audited write (defaults to none). */
  actor?: UserRef
}

export interface CreateManyOptions<Insert> {
  tenant: TenantRef
  /** Values that win over the factory's, or a function of the row index (0-based). */
  overrides?: Partial<Insert> | ((index: number) => Partial<Insert>)
  actor?: UserRef
}

/** What `fx.session` returns: the first refresh token of a new session, as `tokens.issue` returns it. */
export type SessionFixture = IssuedToken

/** The part of `tenantry.tokens` that `fx.session` needs. */
export type TokenIssuer = Pick<TokenService, 'issue'>

export interface SessionFixtureOptions extends Omit<IssueInput, 'userId' | 'tenantId'> {
  user: UserRef
  tenant: TenantRef
}
