import type { CompiledQuery, ConnectionProvider, DatabaseConnection, QueryExecutor } from 'kysely'
import type { RequestState } from '../runtime/runtime.js'
import { transactionOnConnection, transactionsCarryContext } from '../execution/context-transaction.js'
import { ScopedConnection } from './scoped-connection.js'

/**
 * Hands `scope.db` its connections. Inside `scope.transaction` that is the transaction's
 * connection. Under row-level security, outside a transaction, each query becomes its own unit
 * of work: BEGIN with the context (one round trip), the query, COMMIT, so the context is always
 * set and always transaction-local. In query mode with `triggerContext`, so is each write.
 */
export class ScopedConnectionProvider implements ConnectionProvider {
  readonly #base: QueryExecutor
  readonly #state: RequestState
  readonly #sealed: WeakSet<CompiledQuery>
  readonly #allowRawSql: boolean

  constructor(base: QueryExecutor, state: RequestState, sealed: WeakSet<CompiledQuery>, allowRawSql: boolean) {
    this.#base = base
    this.#state = state
    this.#sealed = sealed
    this.#allowRawSql = allowRawSql
  }

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const state = this.#state
    // The isolation check runs before the first query (inside a transaction it already has).
    if (!state.trx) await state.runtime.ready()
    return this.#base.provideConnection((connection) => {
      const autocommit = state.runtime.isolation !== 'rls' && !state.trx
      // Query mode with `triggerContext`: each write outside a transaction carries the context for the host's triggers.
      const inContextTransaction =
        autocommit && transactionsCarryContext(state.runtime)
          ? <T>(run: () => Promise<T>) => transactionOnConnection((query) => connection.executeQuery(query), state, run)
          : undefined
      const scoped = new ScopedConnection(connection, this.#sealed, this.#allowRawSql, autocommit, inContextTransaction)
      if (state.runtime.isolation !== 'rls' || state.trx) return consumer(scoped)
      return transactionOnConnection(
        (query) => connection.executeQuery(query),
        state,
        () => consumer(scoped),
      )
    })
  }
}
