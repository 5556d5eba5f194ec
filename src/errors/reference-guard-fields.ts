/**
 * The constraint, table and column of a `reference_guard` failure (migration 0006), read back from
 * its message when the error lacks them. PostgreSQL sends them as fields, but Citus re-raises a
 * worker's error with its message only, so on a cluster the fields are gone. The message is the
 * guard's own (`tenantry reference rule of deployments.project_id`): declared table and column
 * names, never a value.
 */
const GUARD_MESSAGE = /^tenantry (reference|restrict) rule of (\S+)\.([^\s.]+)$/

export interface GuardFields {
  constraint?: string
  table?: string
  column?: string
}

/**
 * `{ constraint: 'tenantry_<rule>', table, column }` for a guard failure (SQLSTATE 23503) that
 * arrived without its fields; `{}` for any other error.
 *
 * @example
 * const details = { constraint: error.constraint, table: error.table, column: error.column, ...guardFields(error) }
 */
export function guardFields(error: { code?: string; constraint?: string; message?: string }): GuardFields {
  if (error.code !== '23503' || error.constraint !== undefined || typeof error.message !== 'string') return {}
  const match = GUARD_MESSAGE.exec(error.message)
  return match ? { constraint: `tenantry_${match[1]}`, table: match[2]!, column: match[3]! } : {}
}
