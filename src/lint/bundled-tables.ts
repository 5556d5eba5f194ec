import { BUNDLED_RLS_TABLES } from '../rls/rls-targets.js'
import type { LintFinding, LintTarget } from './lint-types.js'

/** Bundled tables that hold no tenant column of their own: only their row-level security is linted. */
const NOT_TENANT_TABLES = new Set<string>(['tenants', 'users', 'refresh_tokens'])
const SOFT_DELETE_TABLES = new Set<string>(['tenants', 'users', 'memberships', 'roles'])

/** tenantry's own tables, as lint targets. */
export function bundledLintTargets(schema: string): LintTarget[] {
  return BUNDLED_RLS_TABLES.map((table) => ({
    schema,
    table,
    tenantColumn: NOT_TENANT_TABLES.has(table) ? null : 'tenant_id',
    softDelete: SOFT_DELETE_TABLES.has(table) ? { kind: 'timestamp', column: 'deleted_at' } : { kind: 'none' },
    kind: 'bundled',
  }))
}

/**
 * Findings in the bundled tables that are there by design. Matched by code, table and constraint
 * name, so a later migration that changes the key makes its exception disappear on its own.
 */
const ACCEPTED: { code: LintFinding['code']; table: string; constraint: string; reason: string }[] = [
  {
    code: 'FK_WITHOUT_TENANT',
    table: 'user_roles',
    constraint: 'user_roles_role_id_fkey',
    reason:
      'system roles (tenant_id null) are granted in every tenant, which a composite key cannot reference; ' +
      'roles.assign refuses another tenant\'s role and the permission check ignores such a grant (docs/rbac.md)',
  },
  {
    code: 'UNIQUE_WITHOUT_TENANT',
    table: 'invitations',
    constraint: 'invitations_selector_key',
    reason:
      'the selector finds an invitation before its tenant is known (accepting it); it is random, ' +
      'so tenants neither collide on it nor learn anything from it',
  },
]

/** Why tenantry accepts this finding in one of its own tables, or `null` when it does not. */
export function acceptedReason(finding: LintFinding, schema: string): string | null {
  const match = ACCEPTED.find(
    (a) => a.code === finding.code && `${schema}.${a.table}` === finding.table && a.constraint === finding.constraint,
  )
  return match?.reason ?? null
}
