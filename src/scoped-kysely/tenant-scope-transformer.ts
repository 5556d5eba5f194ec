import {
  AliasNode,
  AndNode,
  CastNode,
  ColumnNode,
  DataTypeNode,
  FromNode,
  IdentifierNode,
  type JoinNode,
  ListNode,
  OnNode,
  ParensNode,
  PrimitiveValueListNode,
  SelectionNode,
  SelectQueryNode,
  TableNode,
  ValueListNode,
  ValueNode,
  ValuesNode,
  WhereNode,
  type DeleteQueryNode,
  type InsertQueryNode,
  type MergeQueryNode,
  type OperationNode,
  type QueryId,
  type UpdateQueryNode,
} from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { isSystemCreated } from '../schema/builtin-tables.js'
import type { TableModel } from '../schema/table-model.js'
import { rowVisibilityConditionNode, sharedRowsConditionNode, type RowVisibility } from '../predicates/row-visibility.js'
import { checkTableReference, refuseBundledWrite, sharesSystemRows, visibleColumns } from './bundled-table-policy.js'
import { forbidden } from './scope-refusal.js'
import { resolveScopedTable, type ScopedTable } from './scoped-table.js'
import { VerbatimGuardTransformer } from './verbatim-guard-transformer.js'
import { QueryTableAccess } from './query-table-access.js'
import type { TableAccess } from '../execution/table-permissions.js'

export interface TenantScopeRules {
  /** Declared host tables. */
  models: TableModel[]
  /** The bundled tables (read-only through `scope.db`). */
  builtins: TableModel[]
  /** Schema of the bundled tables and functions. */
  builtinSchema: string
  visibility: RowVisibility
  /** Let `sql` fragments through (their nested queries are still scoped). */
  allowRawSql: boolean
  /** Lower-case function names the host allows besides the built-in list. */
  allowFunctions: ReadonlySet<string>
  /**
   * Nodes this scope has produced: rewritten queries and its own predicates. Kysely transforms a
   * subquery builder when it is embedded, so the outer query meets it again; it is left as is.
   * A query rewritten by another scope is not in the set: it is rewritten again, and its
   * predicates (raw SQL to this scope) are refused, so scopes cannot be mixed by accident.
   */
  produced: WeakSet<OperationNode>
  /** What each statement this scope produced reads and writes of tables with declared permissions. */
  accessOf: WeakMap<OperationNode, QueryTableAccess>
}

/** Joins whose joined table may show rows without a match: its predicate cannot go into ON. */
const OUTER_FOR_JOINED = new Set(['RightJoin', 'FullJoin'])
/** Joins without an ON clause: the joined table's predicate goes into WHERE. */
const WITHOUT_ON = new Set(['CrossJoin', 'LateralCrossJoin', 'CrossApply', 'OuterApply', 'Using'])
/** Alias of the subquery an `insert ... select` reads from, so the tenant column can be added. */
const INSERT_SOURCE = 'tenantry_insert_source'

function and(existing: OperationNode | undefined, predicate: OperationNode): OperationNode {
  return existing ? AndNode.create(ParensNode.create(existing), predicate) : predicate
}

/**
 * Rewrites one query so that each declared table it touches carries the scope's tenant and
 * soft-delete predicates (taken from `row-visibility.ts`, the one module that builds them):
 * FROM/USING/UPDATE targets and cross joins in WHERE, inner and left joins in ON, the joined side
 * of right and full joins as a filtered subquery. Subqueries, CTEs and set operations are reached
 * by the base transformer's recursion. Inserts get the tenant column filled and checked.
 *
 * A CTE named like a declared table is treated as that table (scoped, or an error when it lacks
 * the columns): failing closed beats guessing which name a reference resolves to.
 */
export class TenantScopeTransformer extends VerbatimGuardTransformer {
  readonly #rules: TenantScopeRules
  /** Host tables first: an unqualified name shared with a bundled table means the host's. */
  readonly #tables: TableModel[]
  /** The permissioned tables this statement reads and writes, checked before it is sent; made on the first one. */
  access: QueryTableAccess | null = null

  constructor(rules: TenantScopeRules) {
    const { builtinSchema, allowRawSql, allowFunctions, produced } = rules
    super({ allowRawSql, produced, functions: { builtinSchema, allowRawSql, allowFunctions } })
    this.#rules = rules
    this.#tables = [...rules.models, ...rules.builtins]
  }

  protected override transformSelectQuery(node: SelectQueryNode, queryId?: QueryId): SelectQueryNode {
    if (this.#rules.produced.has(node)) return this.#reused(node)
    return this.#produced(this.#scopeSelectQuery(super.transformSelectQuery(node, queryId)))
  }

  #scopeSelectQuery(transformed: SelectQueryNode): SelectQueryNode {
    const joins = transformed.joins ?? []
    const wrapFroms = joins.some((join) => OUTER_FOR_JOINED.has(join.joinType))
    const predicates: OperationNode[] = []
    const froms = transformed.from?.froms.map((item) => this.#scopeSource(item, predicates, wrapFroms))
    const newJoins = joins.map((join) => this.#scopeJoin(join, predicates))
    return Object.freeze({
      ...transformed,
      ...(transformed.from && froms ? { from: FromNode.create(froms) } : {}),
      ...(transformed.joins ? { joins: newJoins } : {}),
      ...this.#where(transformed.where, predicates),
    })
  }

  protected override transformUpdateQuery(node: UpdateQueryNode, queryId?: QueryId): UpdateQueryNode {
    if (this.#rules.produced.has(node)) return this.#reused(node)
    return this.#produced(this.#scopeUpdateQuery(super.transformUpdateQuery(node, queryId)))
  }

  #scopeUpdateQuery(transformed: UpdateQueryNode): UpdateQueryNode {
    const predicates: OperationNode[] = []
    const targets = transformed.table && ListNode.is(transformed.table) ? transformed.table.items : transformed.table ? [transformed.table] : []
    for (const item of targets) {
      const table = this.#resolve(item, 'write')
      if (!table) continue
      refuseBundledWrite(table.model, this.#rules.builtins, 'update')
      this.#refuseTenantAssignment(table, transformed.updates?.map((u) => u.column) ?? [], 'update')
      predicates.push(this.#predicate(table))
    }
    const from = transformed.from ? FromNode.create(transformed.from.froms.map((item) => this.#scopeSource(item, predicates))) : undefined
    const joins = transformed.joins?.map((join) => this.#scopeJoin(join, predicates))
    return Object.freeze({ ...transformed, ...(from ? { from } : {}), ...(joins ? { joins } : {}), ...this.#where(transformed.where, predicates) })
  }

  protected override transformDeleteQuery(node: DeleteQueryNode, queryId?: QueryId): DeleteQueryNode {
    if (this.#rules.produced.has(node)) return this.#reused(node)
    return this.#produced(this.#scopeDeleteQuery(super.transformDeleteQuery(node, queryId)))
  }

  #scopeDeleteQuery(transformed: DeleteQueryNode): DeleteQueryNode {
    const predicates: OperationNode[] = []
    for (const item of transformed.from.froms) {
      const table = this.#resolve(item, 'write')
      if (!table) continue
      refuseBundledWrite(table.model, this.#rules.builtins, 'delete from')
      predicates.push(this.#predicate(table))
    }
    const using = transformed.using
      ? Object.freeze({ ...transformed.using, tables: transformed.using.tables.map((item) => this.#scopeSource(item, predicates)) })
      : undefined
    const joins = transformed.joins?.map((join) => this.#scopeJoin(join, predicates))
    return Object.freeze({
      ...transformed,
      ...(using ? { using } : {}),
      ...(joins ? { joins } : {}),
      ...this.#where(transformed.where, predicates),
    })
  }

  protected override transformInsertQuery(node: InsertQueryNode, queryId?: QueryId): InsertQueryNode {
    if (this.#rules.produced.has(node)) return this.#reused(node)
    return this.#produced(this.#scopeInsertQuery(super.transformInsertQuery(node, queryId)))
  }

  #scopeInsertQuery(transformed: InsertQueryNode): InsertQueryNode {
    const table = transformed.into ? this.#resolve(transformed.into, 'write') : null
    if (!table) return transformed
    const { model } = table
    refuseBundledWrite(model, this.#rules.builtins, 'insert into')
    const tenantId = this.#rules.visibility.tenantId
    if (tenantId === null) return transformed
    if (isSystemCreated(model)) throw forbidden(`only a system scope (asSystem) inserts into ${model.name}`)
    const column = model.tenantColumn!
    const withTenant = this.#fillTenant(transformed, column, tenantId, model.name)
    const conflict = withTenant.onConflict
    if (!conflict?.updates) return withTenant
    // ON CONFLICT DO UPDATE may hit another tenant's row through a unique key: guard it.
    this.#refuseTenantAssignment(
      table,
      conflict.updates.map((u) => u.column),
      'insert ... on conflict do update',
    )
    const guarded = WhereNode.create(and(conflict.updateWhere?.where, this.#predicate(table)))
    return Object.freeze({ ...withTenant, onConflict: Object.freeze({ ...conflict, updateWhere: guarded }) })
  }

  protected override transformMergeQuery(_node: MergeQueryNode, _queryId?: QueryId): MergeQueryNode {
    throw forbidden('merge is not supported; use insert, update and delete')
  }

  protected override transformTable(node: TableNode, queryId?: QueryId): TableNode {
    checkTableReference(node, { schema: this.#rules.builtinSchema, builtins: this.#rules.builtins, models: this.#rules.models })
    return super.transformTable(node, queryId)
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** The declared table behind a FROM/JOIN/target item, noting what the statement does with it. */
  #resolve(item: OperationNode, access: TableAccess): ScopedTable | null {
    const table = resolveScopedTable(item, this.#tables)
    if (table?.model.definition.permissions) this.#access().add(table.model, access)
    return table
  }

  #access(): QueryTableAccess {
    this.access ??= new QueryTableAccess()
    return this.access
  }

  /** A statement this scope already rewrote (an embedded `scope.db` subquery): kept, and its needs added. */
  #reused<T extends OperationNode>(node: T): T {
    const nested = this.#rules.accessOf.get(node)
    if (nested) this.#access().merge(nested)
    return node
  }

  #predicate(table: ScopedTable, reference = table.reference): OperationNode {
    const visibility = this.#rules.visibility
    const condition = sharesSystemRows(table.model, this.#rules.builtins)
      ? sharedRowsConditionNode(table.model, reference, visibility)
      : rowVisibilityConditionNode(table.model, reference, visibility)
    return this.#produced(condition)
  }

  #produced<T extends OperationNode>(node: T): T {
    this.#rules.produced.add(node)
    return node
  }

  #where(where: WhereNode | undefined, predicates: OperationNode[]): { where?: WhereNode } {
    if (predicates.length === 0) return {}
    const combined = predicates.reduce((left, right) => AndNode.create(left, right))
    return { where: WhereNode.create(and(where?.where, combined)) }
  }

  /** A FROM/USING item: its predicate goes into WHERE, or it becomes a filtered subquery. */
  #scopeSource(item: OperationNode, wherePredicates: OperationNode[], wrap = false): OperationNode {
    const table = this.#resolve(item, 'read')
    if (!table) return item
    if (wrap || visibleColumns(table.model, this.#rules.builtins)) return this.#filtered(item, table)
    wherePredicates.push(this.#predicate(table))
    return item
  }

  #scopeJoin(join: JoinNode, wherePredicates: OperationNode[]): JoinNode {
    const table = this.#resolve(join.table, 'read')
    if (!table) return join
    if (OUTER_FOR_JOINED.has(join.joinType) || visibleColumns(table.model, this.#rules.builtins)) {
      return Object.freeze({ ...join, table: this.#filtered(join.table, table) })
    }
    if (WITHOUT_ON.has(join.joinType) || !join.on) {
      wherePredicates.push(this.#predicate(table))
      return join
    }
    return Object.freeze({ ...join, on: OnNode.create(and(join.on.on, this.#predicate(table))) })
  }

  /**
   * `(select * from <table> where <scope>) as <reference>`: a table that an outer join may
   * null-extend, or a bundled table of which a tenant sees only some columns (listed instead of `*`).
   */
  #filtered(item: OperationNode, table: ScopedTable): OperationNode {
    const source = AliasNode.is(item) ? item.node : item
    const columns = visibleColumns(table.model, this.#rules.builtins)
    const selections = columns ? columns.map((c) => SelectionNode.create(ColumnNode.create(c))) : [SelectionNode.createSelectAll()]
    const select = SelectQueryNode.cloneWithSelections(SelectQueryNode.createFrom([source]), selections)
    const inner = Object.freeze({ ...select, where: WhereNode.create(this.#predicate(table, table.name)) })
    return AliasNode.create(this.#produced(inner), IdentifierNode.create(table.reference))
  }

  #refuseTenantAssignment(table: ScopedTable, columns: readonly OperationNode[], what: string): void {
    const column = table.model.tenantColumn
    if (this.#rules.visibility.tenantId === null || !column) return
    if (columns.some((c) => ColumnNode.is(c) && c.column.name === column)) {
      throw forbidden(`${what} may not set "${column}" of ${table.model.name}`)
    }
  }

  /**
   * Adds the tenant column to every row, or checks that every row names the scope's own tenant.
   * `insert ... select` reads from the (scoped) select as a subquery and adds the tenant there.
   */
  #fillTenant(node: InsertQueryNode, column: string, tenantId: string, table: string): InsertQueryNode {
    const columns = node.columns ?? []
    const index = columns.findIndex((c) => c.column.name === column)
    const values = node.values
    if (values === undefined || node.defaultValues) {
      return Object.freeze({
        ...node,
        defaultValues: false,
        columns: [ColumnNode.create(column)],
        values: ValuesNode.create([PrimitiveValueListNode.create([tenantId])]),
      })
    }
    if (SelectQueryNode.is(values)) {
      if (index !== -1) throw forbidden(`insert ... select may not name "${column}" of ${table}; tenantry fills it`)
      if (columns.length === 0) throw new TenantryError('VALIDATION', `scope.db: insert ... select into ${table} needs .columns([...])`, { table })
      return Object.freeze({ ...node, columns: [...columns, ColumnNode.create(column)], values: this.#withTenantColumn(values, column, tenantId) })
    }
    if (!ValuesNode.is(values)) throw forbidden(`insert into ${table} takes values or a select`)
    const rows = values.values.map((row) => {
      if (index === -1) {
        return PrimitiveValueListNode.is(row)
          ? PrimitiveValueListNode.create([...row.values, tenantId])
          : ValueListNode.create([...row.values, ValueNode.create(tenantId)])
      }
      const named = PrimitiveValueListNode.is(row) ? row.values[index] : ValueNode.is(row.values[index]!) ? (row.values[index] as ValueNode).value : undefined
      if (typeof named !== 'string' || named.toLowerCase() !== tenantId) {
        throw forbidden(`"${column}" of ${table} may only name the scope's own tenant`)
      }
      return row
    })
    return Object.freeze({
      ...node,
      columns: index === -1 ? [...columns, ColumnNode.create(column)] : columns,
      values: ValuesNode.create(rows),
    })
  }

  /** `select s.*, cast($tenant as uuid) from (<select>) as s`: the select's columns, then the tenant. */
  #withTenantColumn(select: SelectQueryNode, column: string, tenantId: string): SelectQueryNode {
    const source = AliasNode.create(select, IdentifierNode.create(INSERT_SOURCE))
    const tenant = CastNode.create(ValueNode.create(tenantId), DataTypeNode.create('uuid'))
    const outer = SelectQueryNode.cloneWithSelections(SelectQueryNode.createFrom([source]), [
      SelectionNode.createSelectAllFromTable(TableNode.create(INSERT_SOURCE)),
      SelectionNode.create(AliasNode.create(tenant, IdentifierNode.create(column))),
    ])
    return this.#produced(outer)
  }
}
