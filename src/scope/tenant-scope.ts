import type { Insertable, Kysely, Selectable, Updateable } from 'kysely'
import type { SetOptional } from 'type-fest'
import type { TenantContext } from '../context.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { ScopeState, SystemActor } from '../execution/runtime.js'
import { inTransaction, type TransactionOptions } from '../execution/unit-of-work.js'
import { Repository } from '../repository/repository.js'
import type { BuiltinTableName } from '../schema/builtin-tables.js'
import type { TableModel } from '../schema/table-model.js'
import type { BuiltinDatabase } from './builtin-database.js'
import { AuditLog } from '../audit/audit-log.js'
import { Invitations } from '../rbac/invitations.js'
import { InvalidatingRepository } from '../rbac/invalidating-repository.js'
import { invalidatePermissions } from '../rbac/permission-cache.js'
import { checkPermission, requirePermission } from '../rbac/permission-check.js'
import { RoleRepository } from '../rbac/role-repository.js'
import { createScopedKysely, type ScopedDbOptions } from './scoped-kysely/scoped-kysely.js'

/** A repository typed from the host's Kysely `Database` interface. */
export type TableRepository<DB, TName extends keyof DB> = Repository<
  Selectable<DB[TName]>,
  InsertInput<Insertable<DB[TName]>>,
  Updateable<DB[TName]>
>

/** Insert input: the tenant column is optional, because the scope fills it. */
export type InsertInput<T> = SetOptional<T, Extract<keyof T, 'tenant_id'>>

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
export class TenantScope<DB = any> {
  /** @internal */
  readonly state: ScopeState

  constructor(state: ScopeState) {
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
  repo<TName extends keyof DB & string>(name: TName): TableRepository<DB, TName> {
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
  transaction<T>(fn: (tx: TransactionScope<DB>) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // Permissions cached inside a rolled-back transaction may reflect changes that never happened.
    const onAttemptFailed = () => invalidatePermissions(this.state)
    return inTransaction(this.state, (inner) => fn(new TenantScope<DB>(inner)), { ...options, onAttemptFailed }).catch((error: unknown) => {
      // Also when a nested transaction (which joins the open one) fails.
      onAttemptFailed()
      throw error
    })
  }

  /**
   * A `Kysely<DB>` whose every query carries the tenant and soft-delete predicates of each declared
   * table it touches (joins, subqueries, CTEs, updates, deletes) and whose inserts fill the tenant
   * column. Raw `sql` is refused (see `scopedDb`). Writes through it are not audited: use `repo`
   * for audited writes. Inside `scope.transaction`, `tx.db` runs on the transaction.
   *
   * @example
   * const rows = await scope.db
   *   .selectFrom('projects as p')
   *   .leftJoin('devices as d', 'd.project_id', 'p.id')
   *   .select(['p.name', 'd.serial'])
   *   .execute()
   */
  get db(): Kysely<DB> {
    return createScopedKysely<DB>(this.state)
  }

  /**
   * `scope.db` with options: `view` shows soft-deleted rows (`'all'`, `'deleted'`), and
   * `allowRawSql` lets raw `sql` through (nested Kysely queries in it are still scoped).
   *
   * @example
   * const all = await scope.scopedDb({ view: 'all' }).selectFrom('projects').selectAll().execute()
   */
  scopedDb(options: ScopedDbOptions = {}): Kysely<DB> {
    return createScopedKysely<DB>(this.state, options)
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
export type TransactionScope<DB = any> = TenantScope<DB>
