import { sql } from 'kysely'
import { mapDatabaseError } from '../errors/map-database-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import { auditedWrite, collectAuditEvents } from '../execution/audited-write.js'
import type { NoWriteOptions, UpdateOptions } from '../repository/repository.js'
import type { BulkFilter } from '../repository/bulk-filter.js'
import { insertStatement } from '../repository/write-statements.js'
import { rowVisibilityCondition, tenantOrSystemPredicate, type DeletedView } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { InvalidatingRepository } from './invalidating-repository.js'
import { assignRole, unassignRole, type RoleAssignmentOptions } from './role-assignment.js'
import {
  parseRoleCreate,
  parseRoleUpdate,
  type RoleCreateInput,
  type RoleDefinition,
  type RoleRow,
  type RoleUpdateInput,
  type UserRoleRow,
} from './role-input.js'
import { seedDefaultRoles, type SeedRolesResult } from './seed-default-roles.js'
import { checkOptionKeys } from '../validation/strict-options.js'

/**
 * `scope.roles`: the repository of `roles` (`findById`, `findMany`, `page`, `softDelete`, ...) with
 * validated writes and role management. Every write is audited and forgets the scope's cached
 * permissions. In a tenant scope it sees and changes that tenant's roles only; system roles
 * (`tenant_id` null) are made and changed through `asSystem`, and can be assigned in any tenant.
 *
 * @example
 * const roles = scope.roles
 * const editor = await roles.create({ name: 'editor', permissions: ['projects:*', '*:read'] })
 * await roles.assign(userId, editor.id)
 * await roles.setPermissions(editor.id, ['projects:read'])
 */
export class RoleRepository extends InvalidatingRepository<RoleRow, RoleCreateInput, RoleUpdateInput> {
  constructor(state: RequestState, model: TableModel, view: DeletedView = 'live') {
    super(state, model, view)
  }

  override withDeleted(): RoleRepository {
    return new RoleRepository(this.requestState, this.model, 'all')
  }

  override onlyDeleted(): RoleRepository {
    return new RoleRepository(this.requestState, this.model, 'deleted')
  }

  /**
   * Creates a role. Names are trimmed and unique per tenant, case-insensitively
   * (`UNIQUE_VIOLATION` otherwise); malformed permissions are `VALIDATION` before any SQL. In a
   * system scope, omit `tenant_id` to create a system role.
   */
  override async create(input: RoleCreateInput, options?: NoWriteOptions): Promise<RoleRow> {
    checkOptionKeys(options, [], 'roles.create', { table: 'roles' })
    const values = parseRoleCreate(input, 'roles.create')
    if (this.requestState.system) return (await this.#createInSystemScope([values], 'create'))[0]!
    return super.create(withoutUndefined(values), options)
  }

  override async createMany(inputs: RoleCreateInput[], options?: NoWriteOptions): Promise<RoleRow[]> {
    checkOptionKeys(options, [], 'roles.createMany', { table: 'roles' })
    const values = Array.isArray(inputs) ? inputs.map((input) => parseRoleCreate(input, 'roles.createMany')) : inputs
    if (this.requestState.system && Array.isArray(values) && values.length > 0) return this.#createInSystemScope(values, 'createMany')
    return super.createMany(Array.isArray(values) ? values.map(withoutUndefined) : values, options)
  }

  override async update(id: string, patch: RoleUpdateInput, options?: UpdateOptions): Promise<RoleRow> {
    return super.update(id, parseRoleUpdate(patch, 'roles.update'), options)
  }

  override async updateMany(where: BulkFilter<RoleRow>, patch: RoleUpdateInput, options?: NoWriteOptions): Promise<{ count: number }> {
    return super.updateMany(where, parseRoleUpdate(patch, 'roles.updateMany'), options)
  }

  /** Renames a role (audited as `roles.update` with `changed_fields: ['name']`). */
  rename(id: string, name: string): Promise<RoleRow> {
    return this.update(id, { name })
  }

  /** Replaces a role's permissions; effective for `can` in this scope at once, elsewhere on the next scope. */
  setPermissions(id: string, permissions: readonly string[]): Promise<RoleRow> {
    return this.update(id, { permissions })
  }

  /**
   * Gives a member of the tenant a role of the tenant or a system role (`NOT_FOUND` otherwise).
   * Idempotent: assigning a held role returns the existing `user_roles` row.
   */
  assign(userId: string, roleId: string, options?: RoleAssignmentOptions): Promise<UserRoleRow> {
    return assignRole(this.requestState, userId, roleId, options)
  }

  /** Takes a role from a member; returns whether the member held it. */
  unassign(userId: string, roleId: string, options?: RoleAssignmentOptions): Promise<boolean> {
    return unassignRole(this.requestState, userId, roleId, options)
  }

  /**
   * Creates the missing roles of `definitions`, leaving existing ones (by name) untouched.
   *
   * @example
   * await scope.roles.seedDefaultRoles({ admin: ['*:*'], operator: ['jobs:*'], viewer: ['*:read'] })
   */
  seedDefaultRoles(definitions: Record<string, RoleDefinition>, options?: { tenantId?: string }): Promise<SeedRolesResult> {
    return seedDefaultRoles(this.requestState, definitions, options)
  }

  /** Live roles that can be assigned in this tenant: its own and the system roles, by name. */
  async assignable(): Promise<RoleRow[]> {
    const tenantId = this.requestState.context?.tenantId ?? null
    try {
      const { rows } = await inUnitOfWork(
        this.requestState,
        false,
        (db) =>
          sql<RoleRow>`select * from ${sql.id(this.requestState.runtime.schema, 'roles')} r
          where ${rowVisibilityCondition(this.model, 'r', { tenantId: null, view: 'live' })} and ${tenantOrSystemPredicate(this.model, 'r', tenantId)}
          order by r.tenant_id nulls first, lower(r.name) limit 1000`.execute(db),
        { readOnly: true },
      )
      return rows
    } catch (error) {
      throw mapDatabaseError(error, 'roles.assignable')
    }
  }

  /**
   * System scopes may create system roles, which the repository insert refuses (it wants a tenant
   * there). A new role is held by nobody, so no cached grant changes.
   */
  async #createInSystemScope(rows: ReturnType<typeof parseRoleCreate>[], op: 'create' | 'createMany'): Promise<RoleRow[]> {
    const state = this.requestState
    await state.runtime.ready()
    const failure = () => ({ action: 'roles.create', resourceType: 'roles', resourceId: null, tenantId: rows[0]?.tenant_id ?? null })
    return auditedWrite(state, { operation: `roles.${op}`, failure }, async (db, inner, events) => {
      const statement = insertStatement(
        inner,
        this.model,
        rows.map((row) => withoutUndefined({ ...row } as Record<string, unknown>)),
        'roles.create',
        { audited: true, wantEvents: true },
      )
      const { rows: created } = await statement.execute(db)
      return collectAuditEvents(created, events) as unknown as RoleRow[]
    })
  }
}

function withoutUndefined<T extends object>(values: T): T {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as T
}
