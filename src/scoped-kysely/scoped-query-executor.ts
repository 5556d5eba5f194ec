import {
  DefaultQueryExecutor,
  type AbortableOperationOptions,
  type AbortableQueryOptions,
  type QueryResult,
  type CompiledQuery,
  type ConnectionProvider,
  type KyselyPlugin,
  type QueryCompiler,
  type QueryId,
  type RootOperationNode,
} from 'kysely'
import { forbidden } from './scope-refusal.js'
import type { TenantScopePlugin } from './tenant-scope-plugin.js'
import type { QueryTableAccess } from './query-table-access.js'

/** What a scoped executor is made of; every executor derived from it keeps the same plugin and seal. */
export interface ScopedExecutorParts {
  /** Compiles a node as the host's dialect does (the host executor's `compileQuery`). */
  compiler: Pick<QueryCompiler, 'compileQuery'>
  adapter: DefaultQueryExecutor['adapter']
  connectionProvider: ConnectionProvider
  /** Plugins that run before the tenant scope: the host's, and any added with `withPlugin`. */
  plugins: readonly KyselyPlugin[]
  tenantScope: TenantScopePlugin
  /** The compiled queries this scope produced; `ScopedConnection` runs only these. */
  sealed: WeakSet<CompiledQuery>
  allowRawSql: boolean
  /** Sealed queries that touch tables with declared permissions, and those tables. */
  access: WeakMap<CompiledQuery, QueryTableAccess>
  /** Checks the declared permissions a query needs; throws `FORBIDDEN` (audited) when one is missing. */
  authorize: (query: CompiledQuery, access: QueryTableAccess) => Promise<void>
}

/**
 * The executor of `scope.db`. Two guarantees that Kysely's own executor cannot give:
 * - the tenant-scope plugin always runs last, so `withPlugin`, `withPluginAtFront` and
 *   `withoutPlugins` can add or drop other plugins but never undo or skip the scoping;
 * - only a node the tenant scope produced is compiled, and each compiled query is sealed (a
 *   `WeakSet` of the frozen objects), so a copy with other SQL text is refused by the connection.
 */
export class ScopedQueryExecutor extends DefaultQueryExecutor {
  readonly #parts: ScopedExecutorParts

  constructor(parts: ScopedExecutorParts) {
    super(parts.compiler as QueryCompiler, parts.adapter, parts.connectionProvider, [...parts.plugins, parts.tenantScope])
    this.#parts = parts
  }

  override compileQuery<R = unknown>(node: RootOperationNode, queryId: QueryId): CompiledQuery<R> {
    const { tenantScope, allowRawSql, sealed } = this.#parts
    if (!allowRawSql && !tenantScope.hasProduced(node)) {
      throw forbidden('a query node that did not pass through the tenant scope is refused; build it with scope.db')
    }
    const compiled = this.#parts.compiler.compileQuery(node, queryId) as CompiledQuery<R>
    sealed.add(compiled)
    const access = tenantScope.accessOf(node)
    if (access) this.#parts.access.set(compiled, access)
    return compiled
  }

  // The permission check runs before a connection is taken: it may need a query of its own.
  override executeQuery<R>(compiledQuery: CompiledQuery, options?: AbortableQueryOptions): Promise<QueryResult<R>> {
    const access = this.#parts.access.get(compiledQuery)
    if (!access) return super.executeQuery<R>(compiledQuery, options)
    return this.#parts.authorize(compiledQuery, access).then(() => super.executeQuery<R>(compiledQuery, options))
  }

  override stream<R>(compiledQuery: CompiledQuery, chunkSize: number, options?: AbortableOperationOptions): AsyncIterableIterator<QueryResult<R>> {
    const access = this.#parts.access.get(compiledQuery)
    if (!access) return super.stream<R>(compiledQuery, chunkSize, options)
    return this.#authorizedStream<R>(compiledQuery, access, chunkSize, options)
  }

  async *#authorizedStream<R>(
    compiledQuery: CompiledQuery,
    access: QueryTableAccess,
    chunkSize: number,
    options?: AbortableOperationOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    await this.#parts.authorize(compiledQuery, access)
    yield* super.stream<R>(compiledQuery, chunkSize, options)
  }

  override withPlugins(plugins: readonly KyselyPlugin[]): ScopedQueryExecutor {
    return this.#with({ plugins: [...this.#parts.plugins, ...plugins] })
  }

  override withPlugin(plugin: KyselyPlugin): ScopedQueryExecutor {
    return this.#with({ plugins: [...this.#parts.plugins, plugin] })
  }

  override withPluginAtFront(plugin: KyselyPlugin): ScopedQueryExecutor {
    return this.#with({ plugins: [plugin, ...this.#parts.plugins] })
  }

  override withConnectionProvider(connectionProvider: ConnectionProvider): ScopedQueryExecutor {
    return this.#with({ connectionProvider })
  }

  /** Drops the other plugins; the tenant scope stays. */
  override withoutPlugins(): ScopedQueryExecutor {
    return this.#with({ plugins: [] })
  }

  #with(change: Partial<ScopedExecutorParts>): ScopedQueryExecutor {
    return new ScopedQueryExecutor({ ...this.#parts, ...change })
  }
}
