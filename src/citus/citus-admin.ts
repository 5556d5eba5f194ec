import { withTypedErrors } from '../errors/map-database-error.js'
import type { TenantryRuntime } from '../runtime/runtime.js'
import { parseTableArgument } from '../rls/rls-targets.js'
import { distributeTables, type DistributeOptions, type DistributeResult } from './citus-distribute.js'
import { readCitusStatus, type CitusStatus } from './citus-status.js'
import { allCitusTargets, hostCitusTargets, type CitusTarget } from './citus-targets.js'

export interface CitusTablesOption {
  /** More host tables, `schema.table` or `schema.table:tenant_column`, besides the declared ones. */
  tables?: string[]
}

/**
 * `tenantry.citus`: scale out on a Citus cluster. `distribute()` makes `tenants`, `users` and
 * `roles` reference tables and distributes the tenant tables (bundled and declared) by their
 * tenant column, co-located; `status()` reports where each table lives. Run both on the coordinator.
 *
 * @example
 * await tenantry.migrate()
 * const { changed } = await tenantry.citus.distribute()
 * const { tables } = await tenantry.citus.status() // [{ table: 'tenantry.memberships', distribution: 'distributed', column: 'tenant_id', ... }]
 */
export class Citus {
  readonly #runtime: TenantryRuntime

  constructor(runtime: TenantryRuntime) {
    this.#runtime = runtime
  }

  /** Idempotent: a second call changes nothing and returns `changed: []`. */
  distribute(options: DistributeOptions & CitusTablesOption = {}): Promise<DistributeResult> {
    const { tables, ...rest } = options
    const runtime = this.#runtime
    return withTypedErrors(
      'citus.distribute',
      distributeTables(runtime.root, runtime.schema, this.#hosts(tables), rest).then((result) => {
        // This instance's audited writes switch to the router statement pair at once (citus-placement.ts).
        const audit = result.status.tables.find((t) => t.table === `${runtime.schema}.audit_logs`)
        if (audit?.distribution === 'distributed') runtime.distributedAudit = true
        return result
      }),
    )
  }

  /** Whether Citus is installed, and per table: local, distributed (column, co-location group) or reference. */
  status(options: CitusTablesOption = {}): Promise<CitusStatus> {
    return withTypedErrors('citus.status', readCitusStatus(this.#runtime.root, allCitusTargets(this.#runtime.schema, this.#hosts(options.tables))))
  }

  #hosts(tables: string[] = []): CitusTarget[] {
    return hostCitusTargets([...this.#runtime.models.values(), ...tables.map(parseTableArgument)])
  }
}
