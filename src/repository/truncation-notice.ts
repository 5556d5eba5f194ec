import { MAX_LIMIT } from './limits.js'

/**
 * `findMany` without a `limit` returns at most `DEFAULT_LIMIT` rows (and an explicit `limit` above
 * `MAX_LIMIT` is cut to it). When more rows matched, the caller did not choose that cut, so it is
 * said once per table and tenantry instance instead of passing unnoticed. The message names the
 * table and the cap, never a value.
 */
const noticed = new WeakMap<object, Set<string>>()

export function noticeTruncation(owner: object, table: string, operation: string, cap: number, warn: (message: string) => void = console.warn): void {
  let tables = noticed.get(owner)
  if (!tables) {
    tables = new Set()
    noticed.set(owner, tables)
  }
  if (tables.has(table)) return
  tables.add(table)
  warn(`tenantry: ${operation} returned the first ${cap} rows of more that matched; pass an explicit limit (at most ${MAX_LIMIT}) or walk them with page()`)
}
