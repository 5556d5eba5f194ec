import { TenantryError } from '../errors/tenantry-error.js'
import type { TenantryRuntime } from '../runtime/runtime.js'
import type { TableSecurity } from '../schema/table-introspection.js'

/**
 * What the runtime learns about Citus when it first reads the schema (`ready()`): which tables are
 * distributed. The rule: audited writes go as two router statements (`split-audit-statement.ts`)
 * exactly when `<schema>.audit_logs` is a distributed table; `citus.distribute()` sets the same
 * flag on the instance that ran it. An instance that read the schema before the tables were
 * distributed keeps the one-statement path until it restarts: still correct, not single-shard.
 */

/**
 * Applies what `ready()` read to the runtime: the audit write path, and a refusal of
 * `isolation: 'rls'` on distributed tables (tenantry's policies use subqueries, which Citus does
 * not allow in policies of distributed tables, so `citus.distribute()` drops them).
 */
export function applyCitusPlacement(runtime: TenantryRuntime, security: TableSecurity[]): void {
  const distributed = security.filter((t) => t.distributed)
  if (runtime.isolation === 'rls' && distributed.length > 0) {
    throw new TenantryError(
      'CONFIGURATION',
      `isolation 'rls' is not supported on Citus: ${distributed.map((t) => `${t.schema}.${t.table}`).join(', ')} ${distributed.length === 1 ? 'is a distributed table' : 'are distributed tables'}, ` +
        "and tenantry's row-level security policies use subqueries, which Citus refuses in policies of distributed tables; pass isolation: 'query' to createTenantry",
    )
  }
  runtime.distributedAudit = distributed.some((t) => t.schema === runtime.schema && t.table === 'audit_logs')
}
