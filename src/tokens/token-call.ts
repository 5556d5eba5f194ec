import type { Kysely, RawBuilder } from 'kysely'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { withRetry, type RetryPolicy } from '../runtime/retry-policy.js'
import { inAutocommit } from '../execution/context-transaction.js'

/**
 * Runs one `tokens_*` function call (one statement, so one implicit transaction) on a connection of
 * `db`. Every error is a `TenantryError`: lock timeout, serialization failure and a connection that
 * could not be made or broke before the call committed are `RETRYABLE`; a connection lost while a
 * writing call was in flight is `OUTCOME_UNKNOWN`. Retryable errors are retried with `retry`.
 *
 * @example
 * const rows = await runTokenCall(db, 'tokens.listSessions', listSessionsStatement(schema, userId), { readOnly: true, retry })
 */
export async function runTokenCall<Row>(
  db: Kysely<any>,
  operation: string,
  statement: RawBuilder<Row>,
  options: { readOnly?: boolean; retry: RetryPolicy },
): Promise<Row[]> {
  return withRetry(options.retry, async () => {
    try {
      const { rows } = await inAutocommit(db, options.readOnly === true, (conn) => statement.execute(conn))
      return rows
    } catch (error) {
      throw mapDatabaseError(error, operation)
    }
  })
}
