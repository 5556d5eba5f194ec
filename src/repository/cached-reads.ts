import { sql, type Kysely, type QueryResult, type RawBuilder, type SqlBool } from 'kysely'
import type { RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { selectStatement, type RowLock } from './read-statements.js'
import { executeCached } from './statement-cache.js'

/** `t.<pk> = $key`, as the repository writes it for its by-key statements. */
function primaryKeyEquals(model: TableModel, key: unknown): RawBuilder<SqlBool> {
  return sql<SqlBool>`t.${sql.id(model.primaryKey)} = ${key}`
}

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
