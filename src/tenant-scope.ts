import type { Insertable, Kysely, Selectable, Updateable } from 'kysely'
import type { TenantContext } from './validation/context.js'
import { TenantryError } from './errors/tenantry-error.js'
import type { RequestState, SystemActor } from './runtime/runtime.js'
import { scopeTransaction, type TransactionOptions } from './execution/unit-of-work.js'
import { Repository } from './repository/repository.js'
import type { BuiltinTableName } from './schema/builtin-tables.js'
import type { TableModel } from './schema/table-model.js'
import type { BuiltinDatabase, TenantryDatabase } from './schema/builtin-database.js'
import type { DefaultTenantColumn, InsertInput, TenantColumnIn } from './repository/table-types.js'
import { AuditLog } from './audit/audit-log.js'
import { Invitations } from './rbac/invitations.js'
import { InvalidatingRepository } from './rbac/invalidating-repository.js'
import { invalidatePermissions } from './rbac/permission-cache.js'
import { checkPermission, requirePermission } from './rbac/permission-check.js'
import { RoleRepository } from './rbac/role-repository.js'
import { createScopedKysely, type ScopedDbOptions } from './scoped-kysely/scoped-kysely.js'
import { checkOptionKeys } from './validation/strict-options.js'

/**
 * A repository typed from the host's Kysely `Database` interface; `TTenant` is the table's tenant
 * column, optional in `create()` input.
 */
export type TableRepository<DB, TName extends keyof DB, TTenant extends string = DefaultTenantColumn> = Repository<
  Selectable<DB[TName]>,
  InsertInput<Insertable<DB[TName]>, TTenant>,
  Updateable<DB[TName]>
>

export type { InsertInput } from './repository/table-types.js'

/**
 * What `withContext` and `asSystem` return: repositories, transactions and built-in tables, all
 * bound to one tenant (or, for `asSystem`, to an explicit and audited cross-tenant actor).
 *
 * @example
 * const scope = tenantry.withContext({ tenantId, actorId })
 * await scope.transaction(async (tx) => {
 *   const project = await tx.repo('projects').create({ name: 'Apollo' })
 *   await tx.repo('tasks').create({ project_id: project.id, title: 'Launch' })
 * })
 */
export class TenantScope<DB = any, Tables = {}> {
  /** @internal */
  readonly state: RequestState

  constructor(state: RequestState) {
    this.state = state
  }

  /** The validated context; `null` for a system scope. */
  get context(): TenantContext | null {
    return this.state.context
  }

  /** The system actor and reason of an `asSystem` scope; `null` for a tenant scope. */
  get system(): SystemActor | null {
    return this.state.system
  }

  /** The repository of a table declared in `createTenantry({ tables })`. Unknown names throw before any SQL. */
  repo<TName extends keyof DB & string>(name: TName): TableRepository<DB, TName, TenantColumnIn<Tables, TName>> {
    const model = this.state.runtime.models.get(name)
    if (!model) {
      throw new TenantryError('VALIDATION', `repo: unknown table "${name}"; declare it in createTenantry({ tables })`, { table: name })
    }
    return new Repository(this.state, model)
  }

  /**
   * Runs `fn` in one database transaction; `tx` has the same API. Audit events reach the sink after
   * commit. With `retry` (`true` or `{ attempts, baseDelayMs, maxDelayMs }`), a retryable failure
   * re-runs `fn` in a new transaction, so `fn` must be safe to run again; `OUTCOME_UNKNOWN` (the
   * connection broke during COMMIT) is never retried.
   *
   * @example
   * await scope.transaction(async (tx) => { await tx.repo('projects').update(id, { name: 'Artemis' }) }, { retry: { attempts: 3 } })
   */
  transaction<T>(fn: (tx: TransactionScope<DB, Tables>) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    try {
      checkOptionKeys(options, ['retry'], 'transaction')
    } catch (error) {
      return Promise.reject(error)
    }
    // Permissions cached inside a rolled-back transaction may reflect changes that never happened.
    const onAttemptFailed = () => invalidatePermissions(this.state)
    return scopeTransaction(this.state, (inner) => fn(new TenantScope<DB, Tables>(inner)), { ...options, onAttemptFailed }).catch((error: unknown) => {
      // Also when a nested transaction (which joins the open one) fails.
      onAttemptFailed()
      throw error
    })
  }

  /**
   * A `Kysely<DB>` whose every query carries the tenant and soft-delete predicates of each declared
   * table it touches (joins, subqueries, CTEs, updates, deletes) and whose inserts fill the tenant
   * column. Raw `sql`, DDL, functions outside a side-effect-free list (see `scopedDb`), token
   * tables and writes to bundled tables are refused with `FORBIDDEN`. Writes through it are not
   * audited: use `repo` for audited writes. Inside `scope.transaction`, `tx.db` runs on the
   * transaction. docs/isolation.md lists every builder method with its scoping.
   *
   * @example
   * const rows = await scope.db
   *   .selectFrom('projects as p')
   *   .leftJoin('devices as d', 'd.project_id', 'p.id')
   *   .select(['p.name', 'd.serial'])
   *   .execute()
   */
  get db(): Kysely<TenantryDatabase<DB>> {
    return createScopedKysely<TenantryDatabase<DB>>(this.state)
  }

  /**
   * `scope.db` with options: `view` shows soft-deleted rows (`'all'`, `'deleted'`),
   * `allowFunctions` allows functions the host vouches for, and `allowRawSql` lets raw `sql`
   * through (nested Kysely queries in it are still scoped; trusted code only).
   *
   * @example
   * const all = await scope.scopedDb({ view: 'all' }).selectFrom('projects').selectAll().execute()
   * const near = await scope.scopedDb({ allowFunctions: ['similarity'] })
   *   .selectFrom('projects').select((eb) => eb.fn<number>('similarity', ['name', eb.val('apolo')]).as('score')).execute()
   */
  scopedDb(options: ScopedDbOptions = {}): Kysely<TenantryDatabase<DB>> {
    return createScopedKysely<TenantryDatabase<DB>>(this.state, options)
  }

  /** Tenants: inside a tenant scope, only the scope's own tenant. Creating tenants needs `asSystem`. */
  get tenants(): TableRepository<BuiltinDatabase, 'tenants'> {
    return this.#builtin('tenants')
  }

  /** Global user identities; inside a tenant scope only members of that tenant are visible. */
  get users(): TableRepository<BuiltinDatabase, 'users'> {
    return this.#builtin('users')
  }

  /** Memberships of the tenant. Writes forget the scope's cached permissions (see `can`). */
  get memberships(): TableRepository<BuiltinDatabase, 'memberships'> {
    return this.#grantTable('memberships')
  }

  /** Roles of the tenant, with `create`, `rename`, `setPermissions`, `assign`, `unassign`, `seedDefaultRoles`. */
  get roles(): RoleRepository {
    return new RoleRepository(this.state, this.state.runtime.builtins.get('roles') as TableModel)
  }

  /** Role assignments of the tenant. Prefer `roles.assign`/`roles.unassign`, which check membership and role. */
  get userRoles(): TableRepository<BuiltinDatabase, 'user_roles'> {
    return this.#grantTable('user_roles')
  }

  /** Invitations to the tenant: `invite`, `accept`, `revoke`, `list`. */
  get invitations(): Invitations {
    return new Invitations(this.state)
  }

  /**
   * Whether the context's actor holds `permission` (`resource:action`) in the context's tenant,
   * through an active membership and roles of this tenant or system roles. `false` without an
   * actor and in a system scope. One round trip for the first check of a scope, none after.
   *
   * @example
   * if (await scope.can('projects:write')) { ... }
   */
  can(permission: string): Promise<boolean> {
    return checkPermission(this.state, permission)
  }

  /**
   * Like `can`, but a refusal throws `FORBIDDEN` and leaves a `denied` audit row (`rbac.require`).
   *
   * @example
   * await scope.require('projects:write')
   */
  require(permission: string): Promise<void> {
    return requirePermission(this.state, permission)
  }

  /** The audit trail of this scope: list, record custom events, prune. */
  get auditLog(): AuditLog {
    return new AuditLog(this.state)
  }

  #grantTable<TName extends 'memberships' | 'user_roles'>(name: TName): TableRepository<BuiltinDatabase, TName> {
    const model = this.state.runtime.builtins.get(name) as TableModel
    return new InvalidatingRepository(this.state, model) as unknown as TableRepository<BuiltinDatabase, TName>
  }

  #builtin<TName extends Exclude<BuiltinTableName, 'audit_logs'>>(name: TName): TableRepository<BuiltinDatabase, TName> {
    const model = this.state.runtime.builtins.get(name) as TableModel
    return new Repository(this.state, model) as unknown as TableRepository<BuiltinDatabase, TName>
  }
}

/** The scope handed to `scope.transaction(fn)` and to hooks: the same API, on one transaction. */
export type TransactionScope<DB = any, Tables = {}> = TenantScope<DB, Tables>
