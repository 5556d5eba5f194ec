import { BUNDLED_TABLES } from '../schema/bundled-table-registry.js'
import { BUNDLED_RLS_TABLES } from '../rls/rls-targets.js'
import type { LintFinding, LintTarget } from './lint-types.js'

/**
 * tenantry's own tables, as lint targets. Tables without a `tenant_id` column of their own
 * (`tenants`, `users`, `refresh_tokens`) only have their row-level security linted.
 */
export function bundledLintTargets(schema: string): LintTarget[] {
  return BUNDLED_RLS_TABLES.map((table) => ({
    schema,
    table,
    tenantColumn: BUNDLED_TABLES[table].tenantColumn === 'tenant_id' ? 'tenant_id' : null,
    softDelete: BUNDLED_TABLES[table].softDelete ? { kind: 'timestamp', column: 'deleted_at' } : { kind: 'none' },
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
      "roles.assign refuses another tenant's role and the permission check ignores such a grant (docs/rbac.md)",
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
  const match = ACCEPTED.find((a) => a.code === finding.code && `${schema}.${a.table}` === finding.table && a.constraint === finding.constraint)
  return match?.reason ?? null
}
