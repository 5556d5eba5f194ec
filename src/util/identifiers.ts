/**
 * A schema name tenantry accepts: a lower-case SQL identifier that never needs quoting, at most 63
 * bytes (PostgreSQL's limit), so it can be checked once and then spliced into DDL and messages.
 */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** A UUID in its canonical text form, either case. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A UUID as `parseContext` normalises it (lower case): the only form allowed into SQL text. */
export function isLowerCaseUuid(value: string): boolean {
  return UUID.test(value) && value === value.toLowerCase()
}
