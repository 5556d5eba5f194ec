import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { TableModel } from '../schema/table-model.js'

/**
 * `args.before` of the update and delete hooks: each affected row as it was, read in the write's
 * own statement (after hooks) or under the row lock the statement then takes (before hooks), so a
 * status history is one `afterUpdate` hook with no second read.
 */

/**
 * Prefix of the extra columns carrying a changed row's old values; never returned. Positional
 * (`__tenantry_before_0`, ...) so long column names never meet PostgreSQL's 63-byte alias limit.
 */
const BEFORE_PREFIX = '__tenantry_before_'

/**
 * Wraps the final select of an update statement so each returned row also carries its old version
 * from the `target` CTE (the rows the statement locked, as they were), joined on the primary key.
 * Column by column, so the driver parses old values as it parses new ones (dates stay dates).
 */
export function selectWithBefore(model: TableModel, finalSelect: RawBuilder<unknown>, before = 'target'): RawBuilder<unknown> {
  const pk = sql.id(model.primaryKey)
  const columns = [...model.columns.keys()].map((column, i) => sql`b.${sql.id(column)} as ${sql.id(`${BEFORE_PREFIX}${i}`)}`)
  return sql`select w.*, ${sql.join(columns)} from (${finalSelect}) as w join ${sql.id(before)} as b on b.${pk} = w.${pk}`
}

/**
 * Takes the old versions `selectWithBefore` added out of `rows` (which then look as they would
 * without them) and returns them aligned: `before[i]` is `rows[i]` as it was.
 */
export function takeBeforeRows(model: TableModel, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const columns = [...model.columns.keys()]
  return rows.map((row) => {
    const before: Record<string, unknown> = {}
    columns.forEach((column, i) => {
      const key = `${BEFORE_PREFIX}${i}`
      before[column] = row[key]
      delete row[key]
    })
    return before
  })
}

/**
 * The rows a before hook is told will change: `lockedTarget` is the statement's target select
 * (`targetCte`: locked `for update` in primary-key order, as the statement locks them), run on the
 * write's transaction, so no other transaction changes them before the statement does. For bulk
 * writes these are the rows matched when the hook runs; a row another transaction inserts after
 * that read may still be changed.
 */
export async function lockTargetRows(db: Kysely<any>, lockedTarget: RawBuilder<unknown>): Promise<Record<string, unknown>[]> {
  const { rows } = await (lockedTarget as RawBuilder<Record<string, unknown>>).execute(db)
  return rows
}

/** A purged row as it was: `delete ... returning` hands back the locked version it removed. */
export function removedRowsBefore(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => ({ ...row }))
}
