/**
 * tenantry: tenant-scoped, soft-delete-aware, audited repositories for multi-tenant SaaS on PostgreSQL.
 *
 * @module tenantry
 */
export { createTenantry, type Tenantry, type TenantryOptions, type TableDefinitions } from './create-tenantry.js'
export { defineTable, type TableDefinition, type TableHooks, type HookArgs, type SoftDeleteOption, type TablePermissions } from './define-table.js'
export type { OnSoftDelete, ReferenceOption } from './schema/reference-option.js'
export type { TenantContext, TenantContextInput } from './validation/context.js'
export type { TenantScope, TransactionScope, TableRepository, InsertInput } from './tenant-scope.js'
export type { BuiltinDatabase, TenantryDatabase } from './schema/builtin-database.js'
export type { Row, CreateInput, UpdateInput, TenantColumnOf } from './repository/table-types.js'
export type { Repository, FindManyOptions, FindByIdOptions, PageOptions, Page, UpdateOptions } from './repository/repository.js'
export type { RowLock } from './repository/read-statements.js'
export type { WhereFilter, ColumnFilter, ColumnOperators, ComparisonOperators, StringOperators, LogicalKey } from './repository/where-filter.js'
export { ALL_ROWS, type BulkFilter } from './repository/bulk-filter.js'
export type { AggregateOptions, AggregateRow } from './repository/aggregate.js'
export type { OrderByInput, OrderByItem, SortDirection, NullsOrder } from './repository/order-by.js'
export { TenantryError, isTenantryError, type TenantryErrorDetails, type ValidationIssue } from './errors/tenantry-error.js'
export { ErrorCodes, type ErrorCode } from './errors/error-codes.js'
export { veto } from './errors/veto.js'
export type { AuditEvent, AuditOutcome } from './runtime/audit-event.js'
export type { AuditLog, AuditListOptions, AuditRecordInput } from './audit/audit-log.js'
export {
  migrate,
  migrationStatus,
  type MigrateOptions,
  type MigrateResult,
  type MigrationStatus,
  type MigrationTarget,
  type MigrationDirection,
} from './migration/migrate.js'
export { planMigrations, type PlannedMigration } from './migration/migration-plan.js'
export type { SqlMigrationSource } from './migration/sql-migration-provider.js'
export type { Duration } from './util/duration.js'
export type {
  TokenService,
  SessionInfo,
  IssuedToken,
  TokenConfig,
  IssueInput,
  RequestInfo,
  TokenAuditCallback,
} from './tokens/index.js'
export type { IsolationMode, SystemActor } from './runtime/runtime.js'
export type { RetryOption, RetryPolicyInput } from './runtime/retry-policy.js'
export type { TransactionOptions } from './execution/unit-of-work.js'
export { guardPool } from './runtime/guarded-pool.js'
export type { RowLevelSecurity } from './rls/row-level-security.js'
export type { RlsStatus, RlsTableStatus } from './rls/rls-admin.js'
export {
  LintCodes,
  type LintCode,
  type LintFinding,
  type AcceptedFinding,
  type LintResult,
  type LintOptions,
} from './lint/lint-types.js'
export type { ScopedDbOptions } from './scoped-kysely/scoped-kysely.js'
export type { DeletedView } from './predicates/row-visibility.js'
export type { RoleRepository } from './rbac/role-repository.js'
export type { RoleRow, UserRoleRow, RoleCreateInput, RoleUpdateInput, RoleDefinition } from './rbac/role-input.js'
export type { RoleAssignmentOptions } from './rbac/role-assignment.js'
export type { SeedRolesResult } from './rbac/seed-default-roles.js'
export type { Invitations, InviteInput, InvitationListOptions } from './rbac/invitations.js'
export type { Invitation, InvitationStatus } from './rbac/invitation-model.js'
export type { AcceptedInvitation } from './rbac/invitation-accept.js'
export type { Permission } from './rbac/permission-match.js'
export type { Citus, CitusTablesOption } from './citus/citus-admin.js'
export type { CitusStatus, CitusTableStatus } from './citus/citus-status.js'
export type { DistributeOptions, DistributeResult } from './citus/citus-distribute.js'
export type { CitusDistribution } from './citus/citus-targets.js'
