import { withTypedErrors } from '../errors/map-database-error.js'
import type { TenantryRuntime } from '../runtime/runtime.js'
import { disableRowLevelSecurity, enableRowLevelSecurity, rowLevelSecurityStatus, type RlsStatus } from './rls-admin.js'
import { hostTargets } from './rls-targets.js'

/**
 * `tenantry.rls`: the second isolation layer, for the bundled tables, every table declared with
 * `defineTable`, and every other table that already carries tenantry's policies (enabled by the
 * CLI or another instance), so `disable()` and `status()` leave none out. Run `enable()` as the tables' owner (the role that ran the migrations); the
 * application itself should connect as an ordinary role, which the policies then bind.
 *
 * @example
 * await tenantry.migrate()
 * await tenantry.rls.enable()
 * const { state } = await tenantry.rls.status() // 'enabled'
 */
export class RowLevelSecurity {
  readonly #runtime: TenantryRuntime

  constructor(runtime: TenantryRuntime) {
    this.#runtime = runtime
  }

  /** Installs the policies and enables and FORCEs row-level security, in one transaction. */
  enable(): Promise<RlsStatus> {
    return withTypedErrors('rls.enable', enableRowLevelSecurity(this.#runtime.root, this.#runtime.schema, hostTargets(this.#runtime.models.values())))
  }

  /** Disables row-level security (policies stay, inert). Query-mode isolation keeps working. */
  disable(): Promise<RlsStatus> {
    return withTypedErrors('rls.disable', disableRowLevelSecurity(this.#runtime.root, this.#runtime.schema, hostTargets(this.#runtime.models.values())))
  }

  /**
   * Per table (bundled, declared, and any other carrying tenantry's policies): enabled, forced,
   * policies; plus whether the connected role bypasses row-level security.
   */
  status(): Promise<RlsStatus> {
    return withTypedErrors('rls.status', rowLevelSecurityStatus(this.#runtime.root, this.#runtime.schema, hostTargets(this.#runtime.models.values())))
  }
}
