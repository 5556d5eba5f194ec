import type { CompiledQuery } from 'kysely'
import type { RequestState } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'
import { authorizeTableAccess, type TableAccess } from '../execution/table-permissions.js'

/**
 * The tables with declared permissions (`defineTable({ permissions })`) that one `scope.db`
 * statement reads and writes, collected by the tenant-scope transformer while it walks the
 * statement. Tables without permissions are never added, so a scope whose tables declare none
 * carries no set at all and its queries skip the check.
 */
export class QueryTableAccess {
  readonly read = new Set<TableModel>()
  readonly write = new Set<TableModel>()

  /** Adds `model` when it declares permissions. */
  add(model: TableModel, access: TableAccess): void {
    if (model.definition.permissions) this[access].add(model)
  }

  /** Adds what a nested statement (a subquery built on `scope.db` and embedded) needs. */
  merge(other: QueryTableAccess): void {
    for (const model of other.read) this.read.add(model)
    for (const model of other.write) this.write.add(model)
  }

  get empty(): boolean {
    return this.read.size === 0 && this.write.size === 0
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
