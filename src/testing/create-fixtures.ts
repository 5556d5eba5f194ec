import type { Insertable, Selectable } from 'kysely'
import { UUID } from '../util/identifiers.js'
import { createFaker, slugify, type FixtureFaker } from './fixture-faker.js'
import type {
  CreateFixturesOptions,
  CreateManyOptions,
  CreateOptions,
  Factory,
  FixtureUser,
  MembershipFixtureOptions,
  MembershipRow,
  RoleFixtureOptions,
  RoleRef,
  RoleRow,
  SessionFixture,
  SessionFixtureOptions,
  TenantOverrides,
  TenantRef,
  TenantRow,
  TokenIssuer,
  UserFixtureOptions,
  UserRef,
} from './fixture-types.js'
import type { DatabaseOf, FixtureScope, FixtureTenantry, ScopeOf } from './fixture-host.js'
import { resolveNamespace, UniqueValues } from './unique-values.js'
import { checkOptionKeys } from '../validation/strict-options.js'
import type { RoleDefinition } from '../rbac/role-input.js'

/**
 * The roles a tenant made by `fx.tenant()` starts with, so `fx.user({ tenant, roles: ['admin'] })`
 * works without creating the role first.
 */
export const DEFAULT_FIXTURE_ROLES: Readonly<Record<string, RoleDefinition>> = Object.freeze({
  admin: { permissions: ['*:*'], description: 'Everything in the tenant' },
  viewer: { permissions: ['*:read'], description: 'Reads everything, changes nothing' },
})

const SLUG_MAX = 63

/**
 * A fixture factory over a tenantry instance: tenants, users with memberships and roles, sessions,
 * and rows of the host's own tables, all written through tenantry (so validation, tenant filling
 * and the audit trail apply) and deterministic from `seed`.
 *
 * @example
 * const fx = createFixtures(tenantry, { seed: 'billing-tests' })
 * fx.define('projects', ({ seq, faker }) => ({ name: `${faker.company()} ${seq}` }))
 * const acme = await fx.tenant()
 * const admin = await fx.user({ tenant: acme, roles: [{ name: 'admin', permissions: ['*:*'] }] })
 * const project = await fx.create('projects', { tenant: acme, overrides: { budget: 10 } })
 */
export function createFixtures<T extends FixtureTenantry>(tenantry: T, options: CreateFixturesOptions = {}): Fixtures<DatabaseOf<T>, ScopeOf<T>> {
  return new Fixtures<DatabaseOf<T>, ScopeOf<T>>(tenantry, options)
}

/** The fixture set made by `createFixtures`. `DB` is the host's database interface, `Scope` the type of its tenant scopes. */
export class Fixtures<DB = any, Scope = FixtureScope> {
  /** The seed every generated value derives from. */
  readonly seed: string
  /** The tag appended to unique columns (empty when turned off). */
  readonly namespace: string
  /** A generator for ad-hoc values, seeded from `seed`. */
  readonly faker: FixtureFaker
  readonly #tenantry: FixtureTenantry
  readonly #reason: string
  readonly #tokens: TokenIssuer | undefined
  readonly #unique: UniqueValues
  readonly #sequences = new Map<string, number>()
  readonly #factories = new Map<string, Factory<any>>()
  readonly #defaultRoles: Record<string, RoleDefinition> | false

  constructor(tenantry: FixtureTenantry, options: CreateFixturesOptions = {}) {
    checkOptionKeys(options, ['seed', 'namespace', 'reason', 'tokens', 'defaultRoles'] satisfies (keyof CreateFixturesOptions)[], 'createFixtures')
    this.#tenantry = tenantry
    this.seed = String(options.seed ?? 'tenantry')
    this.namespace = resolveNamespace(options.namespace)
    this.faker = createFaker(`${this.seed}/adhoc`)
    this.#reason = options.reason ?? 'test fixtures'
    this.#tokens = options.tokens
    this.#unique = new UniqueValues(this.namespace)
    this.#defaultRoles = options.defaultRoles ?? DEFAULT_FIXTURE_ROLES
  }

  /**
   * Creates a tenant (through an audited system scope) with the default roles (`admin`, `viewer`;
   * see `defaultRoles`), in one transaction. Generated: `name`, and a unique `slug` derived from it;
   * `overrides` are used as given.
   *
   * @example
   * const trial = await fx.tenant({ type: 'trial', status: 'pending' })
   * const admin = await fx.user({ tenant: trial, roles: ['admin'] })
   */
  async tenant(overrides: TenantOverrides = {}): Promise<TenantRow> {
    const faker = this.#next('tenant')
    const name = overrides.name ?? faker.company()
    const slug = overrides.slug ?? this.#slug('tenant', name)
    const roles = this.#defaultRoles
    if (roles === false || Object.keys(roles).length === 0) return this.#system().tenants.create({ ...overrides, name, slug })
    return this.#system().transaction(async (tx) => {
      const tenant = await tx.tenants.create({ ...overrides, name, slug })
      await tx.roles.seedDefaultRoles(roles, { tenantId: tenant.id })
      return tenant
    })
  }

  /**
   * Creates a user; with `tenant`, also an active membership and the given `roles` in it, in one
   * transaction. Generated: `display_name` and a unique `email`.
   *
   * @example
   * const viewer = await fx.user({ tenant: acme, roles: ['viewer'] })
   * viewer.membership?.tenant_id === acme.id
   */
  async user(options: UserFixtureOptions = {}): Promise<FixtureUser> {
    const { tenant, roles, membershipStatus, ...overrides } = options
    if (roles && roles.length > 0 && tenant === undefined) throw new Error('fx.user: roles need a tenant ({ tenant, roles })')
    const faker = this.#next('user')
    const generatedName = faker.fullName()
    // An explicit `display_name: null` stays null; the email is still derived from a name.
    const displayName = 'display_name' in overrides ? (overrides.display_name ?? null) : generatedName
    const email = overrides.email ?? this.#email(displayName ?? generatedName, faker)
    return this.#system().transaction(async (tx) => {
      const user = await tx.users.create({ ...overrides, display_name: displayName, email })
      if (tenant === undefined) return { ...user, membership: null, roles: [] }
      const granted = await this.#join(tx, user.id, idOf(tenant, 'tenant'), roles ?? [], membershipStatus)
      return { ...user, ...granted }
    })
  }

  /**
   * Adds an existing user to another tenant, with roles there (a consultant working for two clients).
   *
   * @example
   * await fx.membership({ user: consultant, tenant: globex, roles: ['operator'] })
   */
  async membership(options: MembershipFixtureOptions): Promise<{ membership: MembershipRow; roles: RoleRow[] }> {
    const userId = idOf(options.user, 'user')
    const tenantId = idOf(options.tenant, 'tenant')
    return this.#system().transaction((tx) => this.#join(tx, userId, tenantId, options.roles ?? [], options.status))
  }

  /**
   * Creates a role in a tenant, or a system role with `tenant: null` (assignable in every tenant).
   * Generated: a unique `name` when none is given. A name the tenant already has (such as a
   * default role) returns that role, with `permissions` set when given.
   *
   * @example
   * const operator = await fx.role({ tenant: acme, name: 'operator', permissions: ['devices:*', 'tasks:read'] })
   */
  async role(options: RoleFixtureOptions): Promise<RoleRow> {
    const faker = this.#next('role')
    if (options?.tenant === undefined) throw new Error('fx.role: pass { tenant } (or tenant: null for a system role)')
    const tenantId = options.tenant === null ? null : idOf(options.tenant, 'tenant')
    const system = this.#system()
    if (tenantId !== null && options.name !== undefined) {
      // A role the tenant already has (a default role) is reused, with the permissions asked for.
      const existing = await system.roles.findOne({ where: { tenant_id: tenantId, name: options.name } })
      if (existing) return options.permissions ? system.roles.setPermissions(existing.id, options.permissions) : existing
    }
    return system.roles.create({
      ...(tenantId !== null ? { tenant_id: tenantId } : {}),
      name: options.name ?? this.#roleName(tenantId, `${faker.word()}-role`),
      permissions: options.permissions ?? [],
      ...(options.description !== undefined ? { description: options.description } : {}),
    })
  }

  /**
   * Issues a real session and refresh token for `user` in `tenant` through `tenantry.tokens`.
   *
   * @example
   * const { token, sessionId } = await fx.session({ user: admin, tenant: acme, clientId: 'web' })
   */
  async session(options: SessionFixtureOptions): Promise<SessionFixture> {
    const tokens = this.#tokens ?? this.#tenantry.tokens
    if (!tokens || typeof tokens.issue !== 'function') {
      throw new Error('fx.session: no token service; configure createTenantry({ tokens }) or pass createFixtures(tenantry, { tokens })')
    }
    const { user, tenant, ...rest } = options
    return tokens.issue({ ...rest, userId: idOf(user, 'user'), tenantId: idOf(tenant, 'tenant') })
  }

  /**
   * Registers the factory of a host table for `fx.create` and `fx.createMany`. Use `unique()` for
   * columns with a unique index, so parallel test files never collide.
   *
   * @example
   * fx.define('projects', ({ seq, faker, unique }) => ({ name: faker.company(), slug: unique(`project-${seq}`) }))
   */
  define<TName extends keyof DB & string>(table: TName, factory: Factory<Insertable<DB[TName]>>): this {
    this.#factories.set(table, factory)
    return this
  }

  /**
   * Creates one row of a host table through the tenant scope's repository: the table's zod schema
   * validates it, the tenant column is filled, and the write is audited.
   *
   * @example
   * const project = await fx.create('projects', { tenant: acme, overrides: { status: 'paused' } })
   */
  async create<TName extends keyof DB & string>(table: TName, options: CreateOptions<Insertable<DB[TName]>>): Promise<Selectable<DB[TName]>> {
    const tenant = this.#tenantObject(options?.tenant, `fx.create('${table}')`)
    const values = { ...this.#build(table, tenant), ...(options.overrides ?? {}) }
    return this.#scope(tenant.id, options.actor)
      .repo(table)
      .create(values as never) as Promise<Selectable<DB[TName]>>
  }

  /**
   * Creates `count` rows of a host table in one audited statement.
   *
   * @example
   * const devices = await fx.createMany('devices', 3, { tenant: acme, overrides: (i) => ({ serial: `SN-${i}` }) })
   */
  async createMany<TName extends keyof DB & string>(
    table: TName,
    count: number,
    options: CreateManyOptions<Insertable<DB[TName]>>,
  ): Promise<Selectable<DB[TName]>[]> {
    if (!Number.isInteger(count) || count < 0) throw new Error(`fx.createMany('${table}'): count must be a non-negative integer`)
    const tenant = this.#tenantObject(options?.tenant, `fx.createMany('${table}')`)
    const overrides = options.overrides
    const rows = Array.from({ length: count }, (_, index) => ({
      ...this.#build(table, tenant),
      ...(typeof overrides === 'function' ? overrides(index) : (overrides ?? {})),
    }))
    return this.#scope(tenant.id, options.actor)
      .repo(table)
      .createMany(rows as never) as Promise<Selectable<DB[TName]>[]>
  }

  /**
   * A tenant scope for `tenant`, acting as `user` when given: what a request of that user would get.
   *
   * @example
   * const projects = fx.scope({ tenant: acme, user: admin }).repo('projects')
   */
  scope(options: { tenant: TenantRef; user?: UserRef }): Scope {
    return this.#scope(idOf(options.tenant, 'tenant'), options.user) as Scope
  }

  // ---- internals -----------------------------------------------------------------------------

  #system(): FixtureScope {
    return this.#tenantry.asSystem({ reason: this.#reason })
  }

  #scope(tenantId: string, actor: UserRef | undefined): FixtureScope {
    return this.#tenantry.withContext({ tenantId, ...(actor !== undefined ? { actorId: idOf(actor, 'user') } : {}) })
  }

  /** The generator of the next value of `kind`: one stream per (kind, seq), so adding a call elsewhere changes nothing here. */
  #next(kind: string): FixtureFaker {
    const seq = (this.#sequences.get(kind) ?? 0) + 1
    this.#sequences.set(kind, seq)
    return createFaker(`${this.seed}/${kind}/${seq}`)
  }

  #slug(kind: string, name: string): string {
    const room = SLUG_MAX - (this.namespace ? this.namespace.length + 1 : 0) - 4
    return this.#unique.tagged(kind, slugify(name, room))
  }

  /** Tenant roles are unique per tenant, which the tenant's own slug already makes unique; system roles need the tag. */
  #roleName(tenantId: string | null, base: string): string {
    return tenantId === null ? this.#unique.tagged('role:system', base) : this.#unique.claim(`role:${tenantId}`, base)
  }

  #email(displayName: string, faker: FixtureFaker): string {
    const [local, domain] = faker.email(displayName).split('@') as [string, string]
    // Sub-addressing (`+tag`) keeps the address valid and readable.
    return `${this.#unique.tagged('email', local, '+')}@${domain}`
  }

  #build(table: string, tenant: { id: string }): Record<string, unknown> {
    const factory = this.#factories.get(table)
    const faker = this.#next(`table:${table}`)
    if (!factory) return {}
    const seq = this.#sequences.get(`table:${table}`)!
    return { ...factory({ seq, tenant, faker, unique: (base) => this.#unique.tagged(`table:${table}`, base) }) }
  }

  #tenantObject(tenant: TenantRef | undefined, what: string): { id: string } & Partial<TenantRow> {
    if (tenant === undefined) throw new Error(`${what}: pass { tenant }; fixtures never pick a tenant for you`)
    return typeof tenant === 'string' ? { id: idOf(tenant, 'tenant') } : { ...tenant, id: idOf(tenant, 'tenant') }
  }

  async #join(
    tx: FixtureScope,
    userId: string,
    tenantId: string,
    roles: readonly RoleRef[],
    status: MembershipFixtureOptions['status'],
  ): Promise<{ membership: MembershipRow; roles: RoleRow[] }> {
    const membership = await tx.memberships.create({ tenant_id: tenantId, user_id: userId, ...(status ? { status } : {}) })
    const granted: RoleRow[] = []
    for (const ref of roles) {
      const role = await this.#resolveRole(tx, tenantId, ref)
      // Through `roles.assign`, as the host's own code would: audited as `roles.assign`.
      await tx.roles.assign(userId, role.id, { tenantId })
      granted.push(role)
    }
    return { membership, roles: granted }
  }

  async #resolveRole(tx: FixtureScope, tenantId: string, ref: RoleRef): Promise<RoleRow> {
    if (typeof ref === 'object' && 'id' in ref) return tx.roles.getById(ref.id)
    if (typeof ref === 'string' && UUID.test(ref)) return tx.roles.getById(ref)
    const name = typeof ref === 'string' ? ref : ref.name
    const found = (await tx.roles.findOne({ where: { tenant_id: tenantId, name } })) ?? (await tx.roles.findOne({ where: { tenant_id: null, name } }))
    if (found) return found
    if (typeof ref === 'string') {
      throw new Error(`fx: no role named "${name}" in the tenant; create it with fx.role() or pass { name, permissions }`)
    }
    return tx.roles.create({
      tenant_id: tenantId,
      name,
      permissions: ref.permissions ?? [],
      ...(ref.description !== undefined ? { description: ref.description } : {}),
    })
  }
}

function idOf(ref: TenantRef | UserRef, what: 'tenant' | 'user'): string {
  const id = typeof ref === 'string' ? ref : ref?.id
  if (typeof id !== 'string' || !UUID.test(id)) throw new Error(`fx: expected a ${what} row, { id } or a uuid`)
  return id
}
