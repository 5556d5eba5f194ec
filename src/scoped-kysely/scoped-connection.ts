import type { CompiledQuery, DatabaseConnection, OperationNode, QueryResult } from 'kysely'
import { mapDatabaseError, mayHaveCommitted, outcomeUnknownError } from '../errors/map-database-error.js'
import { forbidden } from './scope-refusal.js'

/**
 * A connection of `scope.db`: runs only the compiled queries its executor sealed (a
 * `CompiledQuery.raw(...)`, or a copy of a scoped query with other text, is refused), and maps
 * database errors to `TenantryError`s whose messages never carry values.
 */
export class ScopedConnection implements DatabaseConnection {
  readonly #connection: DatabaseConnection
  readonly #sealed: WeakSet<CompiledQuery>
  readonly #allowRawSql: boolean
  readonly #autocommit: boolean
  readonly #inContextTransaction: (<T>(run: () => Promise<T>) => Promise<T>) | undefined

  /**
   * @param autocommit each query commits on its own (query mode, outside `scope.transaction`)
   * @param inContextTransaction runs a write in its own transaction carrying the context settings
   *   (query mode with `triggerContext`, outside `scope.transaction`)
   */
  constructor(
    connection: DatabaseConnection,
    sealed: WeakSet<CompiledQuery>,
    allowRawSql: boolean,
    autocommit: boolean,
    inContextTransaction?: <T>(run: () => Promise<T>) => Promise<T>,
  ) {
    this.#connection = connection
    this.#sealed = sealed
    this.#allowRawSql = allowRawSql
    this.#autocommit = autocommit
    this.#inContextTransaction = inContextTransaction
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    this.#check(compiledQuery)
    const write = !isReadOnly(compiledQuery.query)
    const wrapped = write && this.#inContextTransaction !== undefined
    try {
      const run = () => this.#connection.executeQuery<R>(compiledQuery)
      return await (wrapped ? this.#inContextTransaction!(run) : run())
    } catch (error) {
      // A write that commits on its own may have committed before its connection broke.
      if (this.#autocommit && write && !wrapped && mayHaveCommitted(error)) throw outcomeUnknownError(error, 'scope.db')
      throw mapDatabaseError(error, 'scope.db')
    }
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    this.#check(compiledQuery)
    yield* this.#connection.streamQuery<R>(compiledQuery, chunkSize)
  }

  #check(compiledQuery: CompiledQuery): void {
    if (this.#allowRawSql || this.#sealed.has(compiledQuery)) return
    throw forbidden('a compiled query that did not pass through the tenant scope is refused; build it with scope.db')
  }
}

/** A select whose common table expressions are selects too: it changes nothing, whenever it broke. */
function isReadOnly(node: OperationNode): boolean {
  if (node.kind !== 'SelectQueryNode') return false
  const ctes = (node as { with?: { expressions: readonly { expression: OperationNode }[] } }).with?.expressions ?? []
  return ctes.every((cte) => isReadOnly(cte.expression))
}
