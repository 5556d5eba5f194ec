import { isTenantryError } from '../errors/tenantry-error.js'
import { parseTableArgument, type RlsTarget } from '../rls/rls-targets.js'
import { SCHEMA_NAME as SQL_IDENTIFIER } from '../util/identifiers.js'
import { UsageError } from './command-args.js'

// The rule createTenantry and the migrator apply to a schema name (util/identifiers.ts), checked
// here so that a bad value is a usage error (exit 2) before any connection.

/**
 * The value of an option that names a schema or column, or `fallback` when it was not given.
 *
 * @example
 * const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)
 */
export function identifierOption(value: string | undefined, option: string, fallback: string): string {
  if (value === undefined) return fallback
  if (!SQL_IDENTIFIER.test(value)) throw new UsageError(`${option} expects a lower-case SQL identifier (a-z, 0-9, _)`)
  return value
}

/**
 * The tables named by repeated `--table schema.table[:tenant_column]` options.
 *
 * @example
 * tableOptions(['public.projects', 'app.orders:org_id'])
 */
export function tableOptions(values: readonly string[] | undefined): RlsTarget[] {
  try {
    return (values ?? []).map((value) => parseTableArgument(value))
  } catch (error) {
    if (isTenantryError(error)) throw new UsageError(error.message)
    throw error
  }
}
