import type { Kysely, QueryResult } from 'kysely'
import type { RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import type { TimestampTexts } from '../runtime/timestamp-texts.js'
import { afterCursorPredicate, positionShape, positionValues, withPositionValues, type CursorPosition } from './cursor.js'
import type { SortKey } from './order-by.js'
import { countStatement, primaryKeyEquals, selectStatement, type RowLock } from './read-statements.js'
import { executeCached } from './statement-cache.js'

/**
 * `findById`: the same scoped `select` as `selectStatement` builds, compiled once per table, view,
 * kind of scope and lock; each call only binds the tenant and the key.
 *
 * @example
 * const { rows } = await findByIdStatement(db, model, { tenantId, view: 'live' }, id, undefined)
 */
export function findByIdStatement(
  db: Kysely<any>,
  model: TableModel,
  visibility: RowVisibility,
  key: string | number,
  lock: RowLock | undefined,
): Promise<QueryResult<Record<string, unknown>>> {
  const system = visibility.tenantId === null
  const shape = `findById:${visibility.view}:${system ? 'system' : 'tenant'}:${lock ?? ''}`
  return executeCached(db, model, shape, [visibility.tenantId, key], (tenant, id) =>
    selectStatement(
      model,
      { visibility: { tenantId: system ? null : tenant!, view: visibility.view }, filters: [primaryKeyEquals(model, id!)] },
      { orderBy: [], limit: 1, lock },
    ),
  )
}

/**
 * A keyset page without a `where` filter (the common "load more"): compiled once per table, view,
 * kind of scope, ordering and kind of cursor (which values are NULL, exact or not, or a
 * millisecond bound); each call binds the tenant, the limit and the cursor's values. `after` is
 * `null` on the first page. The timestamps' text is recorded into `texts` for the next cursor.
 *
 * @example
 * const { rows } = await pageStatement(db, model, { tenantId, view: 'live' }, keys, cursorValues, limit + 1, texts)
 */
export function pageStatement(
  db: Kysely<any>,
  model: TableModel,
  visibility: RowVisibility,
  keys: SortKey[],
  after: CursorPosition | null,
  limit: number,
  texts: TimestampTexts,
): Promise<QueryResult<Record<string, unknown>>> {
  const system = visibility.tenantId === null
  const cursor = after === null ? 'first' : positionShape(after)
  const shape = `page:${visibility.view}:${system ? 'system' : 'tenant'}:${orderShape(keys)}:${cursor}`
  const values = after === null ? [] : positionValues(after)
  return executeCached(
    db,
    model,
    shape,
    [visibility.tenantId, limit, ...values],
    (tenant, fetch, ...placeholders) => {
      const tenantId = system ? null : tenant!
      const filters = after === null ? [] : [afterCursorPredicate(model, 't', keys, withPositionValues(after, placeholders), tenantId)]
      return selectStatement(model, { visibility: { tenantId, view: visibility.view }, filters }, { orderBy: keys, limit: fetch as unknown as number })
    },
    texts,
  )
}

const orderShape = (keys: SortKey[]) => keys.map((k) => `${k.column} ${k.direction} ${k.nulls}`).join(',')

/**
 * `findMany`/`findOne` without a `where` filter: compiled once per table, view, kind of scope,
 * ordering, offset or none, and lock; each call binds the tenant, the limit and the offset.
 *
 * @example
 * const { rows } = await listStatement(db, model, { tenantId, view: 'live' }, { orderBy, limit: 50, offset: 0 })
 */
export function listStatement(
  db: Kysely<any>,
  model: TableModel,
  visibility: RowVisibility,
  options: { orderBy: SortKey[]; limit: number; offset: number; lock: RowLock | undefined },
): Promise<QueryResult<Record<string, unknown>>> {
  const system = visibility.tenantId === null
  const { orderBy, lock } = options
  const shape = `list:${visibility.view}:${system ? 'system' : 'tenant'}:${orderShape(orderBy)}:${options.offset > 0 ? 'offset' : ''}:${lock ?? ''}`
  return executeCached(db, model, shape, [visibility.tenantId, options.limit, options.offset], (tenant, limit, offset) =>
    selectStatement(
      model,
      { visibility: { tenantId: system ? null : tenant!, view: visibility.view }, filters: [] },
      // An offset of 0 adds no clause; any other is bound like the limit.
      { orderBy, limit: limit as unknown as number, offset: options.offset > 0 ? (offset as unknown as number) : 0, lock },
    ),
  )
}

/**
 * `count()` without a `where` filter: compiled once per table, view and kind of scope.
 *
 * @example
 * const { rows } = await countAllStatement(db, model, { tenantId, view: 'live' })
 */
export function countAllStatement(db: Kysely<any>, model: TableModel, visibility: RowVisibility): Promise<QueryResult<{ count: string }>> {
  const system = visibility.tenantId === null
  return executeCached(db, model, `count:${visibility.view}:${system ? 'system' : 'tenant'}`, [visibility.tenantId], (tenant) =>
    countStatement(model, { visibility: { tenantId: system ? null : tenant!, view: visibility.view }, filters: [] }),
  )
}
