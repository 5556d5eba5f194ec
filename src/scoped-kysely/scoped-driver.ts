import type { DatabaseConnection, Driver } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'

function useScopeTransaction(): never {
  throw new TenantryError(
    'VALIDATION',
    'scope.db: open transactions with scope.transaction(async (tx) => { ... tx.db ... }), which also sets the tenant context',
  )
}

/**
 * The driver slot of `scope.db`. Connections come from `ScopedConnectionProvider`, so this driver
 * never opens any; transactions go through `scope.transaction`, and `destroy()` does nothing
 * because the pool belongs to the host.
 */
export class ScopedDriver implements Driver {
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    throw new TenantryError('CONFIGURATION', 'scope.db: connections come from the scope, not from the driver')
  }

  async beginTransaction(): Promise<void> {
    useScopeTransaction()
  }

  async commitTransaction(): Promise<void> {
    useScopeTransaction()
  }

  async rollbackTransaction(): Promise<void> {
    useScopeTransaction()
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}
