import { Kysely, type CompiledQuery, type DatabaseConnection, type PostgresPool, type QueryResult } from 'kysely'
import type pg from 'pg'
import { mayHaveCommitted, outcomeUnknownError } from '../errors/map-database-error.js'
import type { RequestState } from '../runtime/runtime.js'

/**
 * Units of work over a pool that pipelines (`new pg.Pool({ pipeline: true })`, pg >= 8.23): pg
 * writes a query to the connection without waiting for the answers of those before it, so
 * BEGIN with the context, the statement and COMMIT travel together. Under row-level security a
 * single-statement operation then costs one round trip instead of three, and a transaction of N
 * statements N + 1 (BEGIN travels with the first statement).
 */

/** Whether the host's pool pipelines its connections (pg's `pipeline` option). */
export function isPipelinedPool(pool: unknown): boolean {
  return (pool as { options?: { pipeline?: unknown } } | null)?.options?.pipeline === true
}

type PgClient = Pick<pg.PoolClient, 'query' | 'release'>

/** pg's result as Kysely's Postgres driver shapes it, so statements read the same either way. */
function toQueryResult<R>(result: pg.QueryResult): QueryResult<R> {
  const { command, rowCount, rows } = result
  if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command }] as R[] }
  const changes = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
  return { ...(changes ? { numAffectedRows: BigInt(rowCount ?? 0) } : {}), rows: (rows ?? []) as R[] }
}

function send(client: PgClient, query: CompiledQuery): Promise<pg.QueryResult> {
  return client.query(query.sql, query.parameters as unknown[])
}

/** What the Kysely handed to a unit of work does with each statement. */
type Dispatch = (query: CompiledQuery) => Promise<QueryResult<unknown>>

const unavailable = () => {
  throw new Error('tenantry: a pipelined unit of work only runs statements')
}
const NO_DRIVER = {
  init: unavailable,
  acquireConnection: unavailable,
  beginTransaction: unavailable,
  commitTransaction: unavailable,
  rollbackTransaction: unavailable,
  releaseConnection: unavailable,
  destroy: unavailable,
}
const NO_DIALECT = { createDriver: unavailable, createQueryCompiler: unavailable, createAdapter: unavailable, createIntrospector: unavailable }

/**
 * A Kysely bound to one connection whose statements go to `dispatch` as soon as they are
 * executed, without Kysely's one-at-a-time queue: the root's compiler, adapter and plugins, a
 * connection of our own.
 */
function kyselyOver(root: Kysely<any>, dispatch: Dispatch): Kysely<any> {
  const connection: DatabaseConnection = {
    executeQuery: dispatch as DatabaseConnection['executeQuery'],
    streamQuery: () => {
      throw new Error('tenantry: streaming is not available on a pipelined unit of work')
    },
  }
  const executor = root.getExecutor().withConnectionProvider({ provideConnection: (consumer) => consumer(connection) })
  return new Kysely<any>({ config: { dialect: NO_DIALECT }, driver: NO_DRIVER, dialect: NO_DIALECT, executor } as never)
}

async function withClient<T>(pool: PostgresPool, use: (client: PgClient) => Promise<T>): Promise<T> {
  const client = (await pool.connect()) as unknown as PgClient
  let failed: unknown
  try {
    return await use(client)
  } catch (error) {
    failed = error
    throw error
  } finally {
    // A connection lost mid-pipeline is not handed to the next caller.
    client.release(failed !== undefined && mayHaveCommitted(failed) ? (failed as Error) : undefined)
  }
}

/**
 * Runs `work` with each statement in a transaction of its own that sets the context: BEGIN with
 * the context, the statement and COMMIT in one flight. The same semantics as query mode's
 * autocommit statements (each statement commits alone), with the context always
 * transaction-local. A failing statement aborts its transaction, so its COMMIT rolls back. Once
 * COMMIT is on the wire, a lost connection leaves a write's outcome unknown.
 */
export function autocommitWithContext<T>(
  pool: PostgresPool,
  state: RequestState,
  begin: CompiledQuery,
  readOnly: boolean,
  work: (db: Kysely<any>) => Promise<T>,
): Promise<T> {
  return withClient(pool, (client) =>
    work(
      kyselyOver(state.runtime.root, async (query) => {
        const settled = await Promise.allSettled([send(client, begin), send(client, query), client.query('commit')])
        const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
        if (errors.length > 0) {
          if (!readOnly && errors.some(mayHaveCommitted)) throw outcomeUnknownError(errors[0])
          // BEGIN's error explains the statement's "current transaction is aborted".
          throw errors[0]
        }
        const statement = settled[1] as PromiseFulfilledResult<pg.QueryResult>
        return toQueryResult(statement.value)
      }),
    ),
  )
}

/**
 * One transaction on one pipelined connection: BEGIN (with the context under RLS) goes out with
 * the first statement, COMMIT after the last; a failure rolls back. The caller's `finish` decides
 * how a failed COMMIT is reported (see `transactionOnConnection`).
 */
export function pipelinedTransaction<T>(
  pool: PostgresPool,
  state: RequestState,
  begin: CompiledQuery,
  fn: (db: Kysely<any>) => Promise<T>,
  commitFailed: (error: unknown) => unknown,
): Promise<T> {
  return withClient(pool, async (client) => {
    const opened = send(client, begin)
    // Its failure surfaces below, or as the first statement's "current transaction is aborted".
    opened.catch(() => {})
    let result: T
    try {
      result = await fn(kyselyOver(state.runtime.root, async (query) => toQueryResult(await send(client, query))))
      await opened
    } catch (error) {
      await client.query('rollback').catch(() => {})
      // BEGIN's error explains the statement's "current transaction is aborted".
      throw await opened.then(
        () => error,
        (beginError: unknown) => beginError,
      )
    }
    try {
      await client.query('commit')
    } catch (error) {
      throw commitFailed(error)
    }
    return result
  })
}
