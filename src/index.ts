/**
 * tenantry: tenant-scoped, soft-delete-aware, audited repositories for multi-tenant SaaS on PostgreSQL.
 *
 * @module tenantry
 */
export { createTenantry, Tenantry, type TenantryOptions, type TableDefinitions } from './create-tenantry.js'
export { defineTable, type TableDefinition, type TableHooks, type HookArgs, type SoftDeleteOption } from './define-table.js'
export { contextSchema, type TenantContext, type TenantContextInput } from './validation/context.js'
export { TenantScope, type TransactionScope, type TableRepository, type InsertInput } from './tenant-scope.js'
export type { BuiltinDatabase, TenantryDatabase } from './schema/builtin-database.js'
export type { Row, CreateInput, UpdateInput, TenantColumnOf } from './repository/table-types.js'
export {
  Repository,
  type FindManyOptions,
  type PageOptions,
  type Page,
  type UpdateOptions,
} from './repository/repository.js'
export type { WhereFilter, ColumnFilter, ColumnOperators, ComparisonOperators, StringOperators, LogicalKey } from './repository/where-filter.js'
export { ALL_ROWS, type BulkFilter } from './repository/bulk-filter.js'
export type { AggregateOptions, AggregateRow } from './repository/aggregate.js'
export type { OrderByInput, OrderByItem, SortDirection, NullsOrder } from './repository/order-by.js'
export { DEFAULT_LIMIT, MAX_LIMIT } from './repository/limits.js'
export { TenantryError, isTenantryError, type TenantryErrorDetails, type ValidationIssue } from './errors/tenantry-error.js'
export { ErrorCodes, type ErrorCode } from './errors/error-codes.js'
export { veto } from './errors/veto.js'
export type { AuditEvent, AuditOutcome } from './runtime/audit-event.js'
export { AuditLog, type AuditListOptions, type AuditRecordInput } from './audit/audit-log.js'
export {
  migrate,
  migrationStatus,
  bundledMigrations,
  DEFAULT_SCHEMA,
  MIGRATION_TABLE,
  MIGRATION_LOCK_TABLE,
  type MigrateOptions,
  type MigrateResult,
  type MigrationStatus,
  type MigrationTarget,
  type MigrationDirection,
} from './migration/migrate.js'
export { planMigrations, type PlannedMigration } from './migration/migration-plan.js'
export type { SqlMigrationSource } from './migration/sql-migration-provider.js'
export type { Duration } from './util/duration.js'
export {
  createTokenService,
  resolveTokenConfig,
  type TokenService,
  type TokenServiceDeps,
  type SessionInfo,
  type IssuedToken,
  type TokenConfig,
  type ResolvedTokenConfig,
  type IssueInput,
  type RequestInfo,
  type TokenAuditCallback,
} from './tokens/index.js'
export type { IsolationMode, SystemActor } from './runtime/runtime.js'
export type { RetryOption, RetryPolicyInput } from './runtime/retry-policy.js'
export type { TransactionOptions } from './execution/unit-of-work.js'
export { guardPool } from './runtime/guarded-pool.js'
export { RowLevelSecurity } from './rls/row-level-security.js'
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
export type { DeletedView } from './predicates/row-scope.js'
export { RoleRepository } from './rbac/role-repository.js'
export { InvalidatingRepository } from './rbac/invalidating-repository.js'
export type { RoleRow, UserRoleRow, RoleCreateInput, RoleUpdateInput, RoleDefinition } from './rbac/role-input.js'
export type { RoleAssignmentOptions } from './rbac/role-assignment.js'
export type { SeedRolesResult } from './rbac/seed-default-roles.js'
export { Invitations, type InviteInput, type InvitationListOptions } from './rbac/invitations.js'
export type { Invitation, InvitationStatus } from './rbac/invitation-model.js'
export type { AcceptedInvitation } from './rbac/invitation-accept.js'
export { permissionCovers, parsePermission, isPermission, type Permission } from './rbac/permission-match.js'
