import { AliasNode, IdentifierNode, TableNode, type OperationNode } from 'kysely'
import type { TableModel } from '../schema/table-model.js'

/** A declared table as one query refers to it. */
export interface ScopedTable {
  model: TableModel
  /** The table's own name (unqualified). */
  name: string
  /** How the query refers to it: the alias, or the table name. */
  reference: string
}

/**
 * Finds the declared table behind a FROM/JOIN/USING item (`projects`, `public.projects`,
 * `projects as p`), or `null` for anything else: subqueries, undeclared tables.
 * An unqualified name matches a declared table of that name (preferring schema `public`), so a
 * search_path cannot smuggle an unscoped copy past the check.
 */
export function resolveScopedTable(item: OperationNode, models: TableModel[]): ScopedTable | null {
  let table: OperationNode = item
  let alias: string | null = null
  if (AliasNode.is(item)) {
    if (!IdentifierNode.is(item.alias)) return null
    table = item.node
    alias = item.alias.name
  }
  if (!TableNode.is(table)) return null
  const name = table.table.identifier.name
  const schema = table.table.schema?.name
  let model: TableModel | undefined
  if (schema) {
    model = models.find((m) => m.schema === schema && m.table === name)
  } else {
    const candidates = models.filter((m) => m.table === name)
    model = candidates.find((m) => m.schema === 'public') ?? candidates[0]
  }
  return model ? { model, name, reference: alias ?? name } : null
}
