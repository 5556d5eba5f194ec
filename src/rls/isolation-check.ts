import { TenantryError } from '../errors/tenantry-error.js'
import type { IsolationMode } from '../runtime/runtime.js'
import type { TableSecurity } from '../schema/table-introspection.js'
import type { RlsTarget } from './rls-targets.js'

/** The shell command that enables row-level security for these host tables. */
export function enableCommand(hostTables: RlsTarget[]): string {
  const tables = hostTables.map((t) => ` --table ${t.schema}.${t.table}${t.tenantColumn === 'tenant_id' ? '' : `:${t.tenantColumn}`}`)
  return `npx tenantry rls enable${tables.join('')}`
}

/**
 * Compares the database with the configured isolation mode, once, before the first query.
 *
 * - `rls`: every table tenantry queries must have row-level security enabled and forced and carry
 *   tenantry's policy, else a `CONFIGURATION` error says what to run. A role that bypasses RLS
 *   (superuser, `BYPASSRLS`) makes the layer inert: that is reported through `warn`, because it is
 *   legal (migrations, tests).
 * - `query`: tenantry's policies that apply to the connected role hide every row, since query mode
 *   sets no context: a `CONFIGURATION` error, because reads would otherwise return nothing without
 *   a word. Policies of the host's own (no tenantry policy on the table) are reported through
 *   `warn` only: the host may set a context of its own for them.
 */
export function checkIsolationMode(isolation: IsolationMode, security: TableSecurity[], hostTables: RlsTarget[], warn: (message: string) => void): void {
  const names = (tables: TableSecurity[]) => tables.map((t) => `${t.schema}.${t.table}`).join(', ')
  if (isolation === 'rls') {
    const missing = security.filter((t) => !(t.rowSecurity && t.forceRowSecurity && t.tenantryPolicy))
    if (missing.length > 0) {
      throw new TenantryError(
        'CONFIGURATION',
        `isolation 'rls': row-level security with tenantry's policies is not enabled and forced on ${names(missing)}; ` +
          `run \`${enableCommand(hostTables)}\` or \`await tenantry.rls.enable()\` as the tables' owner`,
      )
    }
    if (security.some((t) => t.bypassRls)) {
      warn(
        "tenantry: isolation 'rls', but the connected role is a superuser or has BYPASSRLS, so row-level security does not apply to it; " +
          'connect the application as an ordinary role (see docs/isolation.md)',
      )
    }
    return
  }
  const applies = security.filter((t) => t.rowSecurity && !t.bypassRls && (t.forceRowSecurity || !t.owned))
  const tenantry = applies.filter((t) => t.tenantryPolicy)
  if (tenantry.length > 0) {
    throw new TenantryError(
      'CONFIGURATION',
      `isolation 'query', but tenantry's row-level security policies apply to the connected role on ${names(tenantry)}, ` +
        'so every read would return no rows (query mode sets no context); run `npx tenantry rls disable` (or `await tenantry.rls.disable()`) ' +
        "as the tables' owner, or pass isolation: 'rls' to createTenantry",
    )
  }
  const hosts = applies.filter((t) => !t.tenantryPolicy)
  if (hosts.length > 0) {
    warn(
      `tenantry: isolation 'query', but row-level security applies to the connected role on ${names(hosts)}; ` +
        "without a context of your own those tables show no rows. Pass isolation: 'rls' to createTenantry, or disable row-level security on them",
    )
  }
}
