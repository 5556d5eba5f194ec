import type { CompiledQuery } from 'kysely'
import type { RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import { authorizeTableAccess, type TableAccess } from '../execution/table-permissions.js'

/**
 * The tables with declared permissions (`defineTable({ permissions })`) that one `scope.db`
 * statement reads and writes, collected by the tenant-scope transformer while it walks the
 * statement. The transformer makes one only when it meets such a table, so a statement touching
 * none carries nothing and skips the check.
 */
export class QueryTableAccess {
  readonly read = new Set<TableModel>()
  readonly write = new Set<TableModel>()

  add(model: TableModel, access: TableAccess): void {
    this[access].add(model)
  }

  /** Adds what a nested statement (a subquery built on `scope.db` and embedded) needs. */
  merge(other: QueryTableAccess): void {
    for (const model of other.read) this.read.add(model)
    for (const model of other.write) this.write.add(model)
  }
}

/** `SelectQueryNode` → `select`: the statement named in the audit action of a refusal. */
function statementOf(query: CompiledQuery): string {
  return query.query.kind.replace(/QueryNode$|Node$/, '').toLowerCase()
}

/**
 * Checks every permission a statement needs before it is sent (see `authorizeTableAccess`); a
 * refusal is audited as `scope.db.<statement>` with the table as resource type.
 */
export async function authorizeQuery(state: RequestState, query: CompiledQuery, access: QueryTableAccess): Promise<void> {
  const action = `scope.db.${statementOf(query)}`
  for (const model of access.read) await authorizeTableAccess(state, model, 'read', { action })
  for (const model of access.write) await authorizeTableAccess(state, model, 'write', { action })
}
