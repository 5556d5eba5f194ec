import { TenantryError } from '../errors/tenantry-error.js'
import type { IsolationMode } from '../execution/runtime.js'
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
 * - `rls`: every table tenantry queries must have row-level security enabled and forced, else a
 *   `CONFIGURATION` error says what to run. A role that bypasses RLS (superuser, `BYPASSRLS`)
 *   makes the layer inert: that is reported through `warn`, because it is legal (migrations, tests).
 * - `query`: row-level security that applies to the connected role would hide every row, since
 *   query mode sets no context. Reported through `warn`, not thrown: the host may run policies of
 *   its own with a context of its own.
 */
export function checkIsolationMode(
  isolation: IsolationMode,
  security: TableSecurity[],
  hostTables: RlsTarget[],
  warn: (message: string) => void,
): void {
  const names = (tables: TableSecurity[]) => tables.map((t) => `${t.schema}.${t.table}`).join(', ')
  if (isolation === 'rls') {
    const missing = security.filter((t) => !(t.rowSecurity && t.forceRowSecurity))
    if (missing.length > 0) {
      throw new TenantryError(
        'CONFIGURATION',
        `isolation 'rls': row-level security is not enabled and forced on ${names(missing)}; ` +
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
  if (applies.length > 0) {
    warn(
      `tenantry: isolation 'query', but row-level security applies to the connected role on ${names(applies)}; ` +
        "without a context those tables show no rows. Pass isolation: 'rls' to createTenantry, or run `npx tenantry rls disable`",
    )
  }
}
