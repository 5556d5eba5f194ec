import type { LintTable } from './lint-table.js'
import { LintCodes, type LintFinding } from './lint-types.js'

/** Policies tenantry installs are named `tenantry_...` (`tenantry_tenant_isolation`, `tenantry_system_only`). */
export const POLICY_PREFIX = 'tenantry_'

/** The policy `install_tenant_policy` creates on a host table. */
export const TENANT_POLICY = 'tenantry_tenant_isolation'

/**
 * In rls mode every linted table needs tenantry's policy, and row-level security enabled and
 * FORCEd (without FORCE the table's owner, often the application's role, sees every tenant).
 */
export function rowLevelSecurityFindings(table: LintTable, bundledSchema: string): LintFinding[] {
  const findings: LintFinding[] = []
  const { catalog, target } = table
  const literal = `'${catalog.qualified.replaceAll("'", "''")}'::regclass`
  const helpers = bundledSchema
  const command =
    target.kind === 'bundled'
      ? 'npx tenantry rls enable'
      : `npx tenantry rls enable --table ${catalog.schema}.${catalog.table}${target.tenantColumn && target.tenantColumn !== 'tenant_id' ? `:${target.tenantColumn}` : ''}`
  if (!catalog.policies.some((p) => p.name.startsWith(POLICY_PREFIX))) {
    findings.push({
      code: LintCodes.RLS_POLICY_MISSING,
      table: table.name,
      constraint: null,
      columns: table.tenant ? [table.tenant.name] : [],
      message: `${table.name} has no tenantry row-level security policy: in rls mode the second isolation layer does not cover it. Run \`${command}\`.`,
      fix:
        target.kind === 'bundled'
          ? `select ${helpers}.install_bundled_policies();`
          : `select ${helpers}.install_tenant_policy(${literal}, '${(table.tenant?.name ?? 'tenant_id').replaceAll("'", "''")}');`,
    })
  }
  if (!(catalog.rowSecurity && catalog.forceRowSecurity)) {
    findings.push({
      code: LintCodes.RLS_NOT_FORCED,
      table: table.name,
      constraint: null,
      columns: [],
      message: catalog.rowSecurity
        ? `${table.name} has row-level security enabled but not FORCEd: its owner bypasses the policies. Run \`${command}\`.`
        : `${table.name} does not have row-level security enabled and FORCEd: its policies do nothing. Run \`${command}\`.`,
      fix: `select ${helpers}.enable_row_level_security(${literal});`,
    })
  }
  return findings
}
