import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import { mapDatabaseError } from '../../errors/map-database-error.js'
import { TenantryError } from '../../errors/tenantry-error.js'
import type { TenantScopePlugin } from './tenant-scope-plugin.js'

/**
 * A connection of `scope.db`: runs only queries the tenant-scope plugin has rewritten (a
 * `CompiledQuery.raw(...)` handed to `executeQuery` skips plugins, so it is refused here), and
 * maps database errors to `TenantryError`s whose messages never carry values.
 */
export class ScopedConnection implements DatabaseConnection {
  readonly #connection: DatabaseConnection
  readonly #plugin: TenantScopePlugin
  readonly #allowRawSql: boolean

  constructor(connection: DatabaseConnection, plugin: TenantScopePlugin, allowRawSql: boolean) {
    this.#connection = connection
    this.#plugin = plugin
    this.#allowRawSql = allowRawSql
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    this.#check(compiledQuery)
    try {
      return await this.#connection.executeQuery<R>(compiledQuery)
    } catch (error) {
      throw mapDatabaseError(error, 'scope.db')
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    this.#check(compiledQuery)
    yield* this.#connection.streamQuery<R>(compiledQuery, chunkSize)
  }

  #check(compiledQuery: CompiledQuery): void {
    if (this.#allowRawSql || this.#plugin.hasRewritten(compiledQuery.queryId)) return
    throw new TenantryError('FORBIDDEN', 'scope.db: a compiled query that did not pass through the tenant scope is refused; build it with scope.db')
  }
}
