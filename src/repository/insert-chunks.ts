/**
 * PostgreSQL's wire protocol numbers bind parameters with 16 bits: one statement carries at most
 * 65,535. A multi-row insert binds one parameter per row and column, so `createMany` splits large
 * inputs into statements that stay below the limit (all in one transaction, see `Repository`).
 * The reserve leaves room for the audit CTE's own parameters (context, action, redacted columns).
 */
export const MAX_BIND_PARAMETERS = 65_535
const AUDIT_RESERVE = 535
/**
 * Rows per statement at most, whatever the width: compiling and planning one huge VALUES list
 * costs more than several statements of this size (measured: 10,000 rows of 7 columns took about
 * 4 s in 1,000-row statements and about 10 s in 9,000-row ones).
 */
export const MAX_ROWS_PER_INSERT = 1000

/** Rows per insert statement for rows of this many distinct columns; from 1 to `MAX_ROWS_PER_INSERT`. */
export function rowsPerInsert(columnCount: number): number {
  const byParameters = Math.floor((MAX_BIND_PARAMETERS - AUDIT_RESERVE) / Math.max(1, columnCount))
  return Math.max(1, Math.min(MAX_ROWS_PER_INSERT, byParameters))
}

/** Distinct columns over the rows: each one a bind parameter per row (missing ones are `default`). */
export function distinctColumnCount(rows: readonly Record<string, unknown>[]): number {
  const columns = new Set<string>()
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key)
  return columns.size
}

/**
 * Splits rows into consecutive chunks whose multi-row insert stays under the bind-parameter limit.
 *
 * @example
 * insertChunks(rows).length // 1 for up to 1,000 rows of up to 65 columns
 */
export function insertChunks<T extends Record<string, unknown>>(rows: readonly T[]): T[][] {
  const size = rowsPerInsert(distinctColumnCount(rows))
  const chunks: T[][] = []
  for (let start = 0; start < rows.length; start += size) chunks.push(rows.slice(start, start + size))
  return chunks
}
