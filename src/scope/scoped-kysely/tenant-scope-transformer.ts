import {
  AggregateFunctionNode,
  AliasNode,
  AndNode,
  CastNode,
  ColumnNode,
  DataTypeNode,
  FromNode,
  FunctionNode,
  IdentifierNode,
  isColumnDataType,
  type JoinNode,
  ListNode,
  OnNode,
  OperationNodeTransformer,
  OPERATORS,
  OrNode,
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
  type ExplainNode,
  type FetchNode,
  type InsertQueryNode,
  type MergeQueryNode,
  type OperationNode,
  type OperatorNode,
  type OrActionNode,
  type OrderByItemNode,
  type QueryId,
  type RawNode,
  type SetOperationNode,
  type TopNode,
  type UpdateQueryNode,
} from 'kysely'
import { TenantryError } from '../../errors/tenantry-error.js'
import { isSystemCreated } from '../../schema/builtin-tables.js'
import type { TableModel } from '../../schema/table-model.js'
import { scopeConditionNode, sharedRowsConditionNode, type RowScope } from '../row-scope.js'
import { checkTableReference, refuseBundledWrite, sharesSystemRows, visibleColumns } from './bundled-table-policy.js'
import { checkFunctionCall } from './function-policy.js'
import { isKyselyDirection, isKyselyOnTrue } from './kysely-own-nodes.js'
import { forbidden } from './scope-refusal.js'
import { resolveScopedTable, type ScopedTable } from './scoped-table.js'

export interface TenantScopeRules {
  /** Declared host tables. */
  models: TableModel[]
  /** The bundled tables (read-only through `scope.db`). */
  builtins: TableModel[]
  /** Schema of the bundled tables and functions. */
  builtinSchema: string
  scope: RowScope
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
}

/** Joins whose joined table may show rows without a match: its predicate cannot go into ON. */
const OUTER_FOR_JOINED = new Set(['RightJoin', 'FullJoin'])
/** Joins without an ON clause: the joined table's predicate goes into WHERE. */
const WITHOUT_ON = new Set(['CrossJoin', 'LateralCrossJoin', 'CrossApply', 'OuterApply', 'Using'])
/** Words Kysely prints verbatim from a node; a hand-made node could carry SQL in them. */
const KNOWN_OPERATORS = new Set<string>(OPERATORS)
const SET_OPERATORS = new Set(['union', 'intersect', 'except'])
const NULLS = new Set([undefined, 'first', 'last'])
const EXPLAIN_FORMATS = new Set([undefined, 'text', 'xml', 'json', 'yaml', 'traditional', 'tree'])
const FETCH_MODIFIERS = new Set(['only', 'with ties'])
/** Kinds of Kysely's schema (DDL) nodes. */
const SCHEMA_NODE = /^(Create|Drop|Alter|Add|Rename|Refresh|Modify)[A-Z][A-Za-z]*Node$/
/** Alias of the subquery an `insert ... select` reads from, so the tenant column can be added. */
const INSERT_SOURCE = 'tenantry_insert_source'

function and(existing: OperationNode | undefined, predicate: OperationNode): OperationNode {
  return existing ? AndNode.create(ParensNode.create(existing), predicate) : predicate
}

/**
 * Rewrites one query so that each declared table it touches carries the scope's tenant and
 * soft-delete predicates (taken from `row-scope.ts`, the one module that builds them):
 * FROM/USING/UPDATE targets and cross joins in WHERE, inner and left joins in ON, the joined side
 * of right and full joins as a filtered subquery. Subqueries, CTEs and set operations are reached
 * by the base transformer's recursion. Inserts get the tenant column filled and checked.
 *
 * A CTE named like a declared table is treated as that table (scoped, or an error when it lacks
 * the columns): failing closed beats guessing which name a reference resolves to.
 */
export class TenantScopeTransformer extends OperationNodeTransformer {
  readonly #rules: TenantScopeRules
  /** Host tables first: an unqualified name shared with a bundled table means the host's. */
  readonly #tables: TableModel[]

  constructor(rules: TenantScopeRules) {
    super()
    this.#rules = rules
    this.#tables = [...rules.models, ...rules.builtins]
  }

  override transformNode<T extends OperationNode | undefined>(node: T, queryId?: QueryId): T {
    // Schema statements nested in a query (hand-made nodes) would print DDL text into it.
    if (node && SCHEMA_NODE.test(node.kind)) throw forbidden(`${node.kind.replace(/Node$/, '')} is refused: scope.db runs no DDL`)
    return super.transformNode(node, queryId)
  }

  protected override transformSelectQuery(node: SelectQueryNode, queryId?: QueryId): SelectQueryNode {
    if (this.#rules.produced.has(node)) return node
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
    if (this.#rules.produced.has(node)) return node
    return this.#produced(this.#scopeUpdateQuery(super.transformUpdateQuery(node, queryId)))
  }

  #scopeUpdateQuery(transformed: UpdateQueryNode): UpdateQueryNode {
    const predicates: OperationNode[] = []
    const targets = transformed.table && ListNode.is(transformed.table) ? transformed.table.items : transformed.table ? [transformed.table] : []
    for (const item of targets) {
      const table = this.#resolve(item)
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
    if (this.#rules.produced.has(node)) return node
    return this.#produced(this.#scopeDeleteQuery(super.transformDeleteQuery(node, queryId)))
  }

  #scopeDeleteQuery(transformed: DeleteQueryNode): DeleteQueryNode {
    const predicates: OperationNode[] = []
    for (const item of transformed.from.froms) {
      const table = this.#resolve(item)
      if (!table) continue
      refuseBundledWrite(table.model, this.#rules.builtins, 'delete from')
      predicates.push(this.#predicate(table))
    }
    const using = transformed.using ? Object.freeze({ ...transformed.using, tables: transformed.using.tables.map((item) => this.#scopeSource(item, predicates)) }) : undefined
    const joins = transformed.joins?.map((join) => this.#scopeJoin(join, predicates))
    return Object.freeze({
      ...transformed,
      ...(using ? { using } : {}),
      ...(joins ? { joins } : {}),
      ...this.#where(transformed.where, predicates),
    })
  }

  protected override transformInsertQuery(node: InsertQueryNode, queryId?: QueryId): InsertQueryNode {
    if (this.#rules.produced.has(node)) return node
    return this.#produced(this.#scopeInsertQuery(super.transformInsertQuery(node, queryId)))
  }

  #scopeInsertQuery(transformed: InsertQueryNode): InsertQueryNode {
    const table = transformed.into ? this.#resolve(transformed.into) : null
    if (!table) return transformed
    const { model } = table
    refuseBundledWrite(model, this.#rules.builtins, 'insert into')
    const tenantId = this.#rules.scope.tenantId
    if (tenantId === null) return transformed
    if (isSystemCreated(model)) throw forbidden(`only a system scope (asSystem) inserts into ${model.name}`)
    const column = model.tenantColumn!
    const withTenant = this.#fillTenant(transformed, column, tenantId, model.name)
    const conflict = withTenant.onConflict
    if (!conflict?.updates) return withTenant
    // ON CONFLICT DO UPDATE may hit another tenant's row through a unique key: guard it.
    this.#refuseTenantAssignment(table, conflict.updates.map((u) => u.column), 'insert ... on conflict do update')
    const guarded = WhereNode.create(and(conflict.updateWhere?.where, this.#predicate(table)))
    return Object.freeze({ ...withTenant, onConflict: Object.freeze({ ...conflict, updateWhere: guarded }) })
  }

  protected override transformMergeQuery(_node: MergeQueryNode, _queryId?: QueryId): MergeQueryNode {
    throw forbidden('merge is not supported; use insert, update and delete')
  }

  // ---- what Kysely prints verbatim -----------------------------------------------------------

  protected override transformRaw(node: RawNode, queryId?: QueryId): RawNode {
    if (this.#rules.produced.has(node)) return node
    if (!this.#rules.allowRawSql) {
      throw forbidden('raw `sql` is refused because tenantry cannot scope it; use scope.scopedDb({ allowRawSql: true }) to allow it')
    }
    return super.transformRaw(node, queryId)
  }

  protected override transformOrderByItem(node: OrderByItemNode, queryId?: QueryId): OrderByItemNode {
    if (!NULLS.has(node.nulls)) throw forbidden('order by: nulls must be first or last')
    // `orderBy(col, 'desc')` and `ob.desc()` are raw nodes Kysely made; keep them as they are.
    if (!isKyselyDirection(node.direction)) return super.transformOrderByItem(node, queryId)
    const transformed = super.transformOrderByItem({ ...node, direction: undefined }, queryId)
    return Object.freeze({ ...transformed, direction: node.direction })
  }

  protected override transformOn(node: OnNode, queryId?: QueryId): OnNode {
    return OnNode.create(this.#onCondition(node.on, queryId))
  }

  /** A join condition; `j.onTrue()` adds a raw `true` to it (alone, or and-ed/or-ed on). */
  #onCondition(node: OperationNode, queryId?: QueryId): OperationNode {
    if (isKyselyOnTrue(node)) return node
    if (AndNode.is(node)) return AndNode.create(this.#onCondition(node.left, queryId), this.#onCondition(node.right, queryId))
    if (OrNode.is(node)) return OrNode.create(this.#onCondition(node.left, queryId), this.#onCondition(node.right, queryId))
    return this.transformNode(node, queryId)
  }

  protected override transformFunction(node: FunctionNode, queryId?: QueryId): FunctionNode {
    checkFunctionCall(node.func, this.#policy())
    return super.transformFunction(node, queryId)
  }

  protected override transformAggregateFunction(node: AggregateFunctionNode, queryId?: QueryId): AggregateFunctionNode {
    checkFunctionCall(node.func, this.#policy(), 'aggregate function')
    return super.transformAggregateFunction(node, queryId)
  }

  protected override transformOperator(node: OperatorNode, queryId?: QueryId): OperatorNode {
    if (!KNOWN_OPERATORS.has(node.operator)) throw forbidden(`operator "${String(node.operator).slice(0, 20)}" is not one of Kysely's operators`)
    return super.transformOperator(node, queryId)
  }

  protected override transformDataType(node: DataTypeNode, queryId?: QueryId): DataTypeNode {
    if (!isColumnDataType(node.dataType)) throw forbidden(`data type "${String(node.dataType).slice(0, 30)}" is not one of Kysely's data types`)
    return super.transformDataType(node, queryId)
  }

  protected override transformSetOperation(node: SetOperationNode, queryId?: QueryId): SetOperationNode {
    if (!SET_OPERATORS.has(node.operator)) throw forbidden('set operation must be union, intersect or except')
    return super.transformSetOperation(node, queryId)
  }

  protected override transformExplain(node: ExplainNode, queryId?: QueryId): ExplainNode {
    if (!EXPLAIN_FORMATS.has(node.format)) throw forbidden('explain: unknown format')
    return super.transformExplain(node, queryId)
  }

  protected override transformFetch(node: FetchNode, queryId?: QueryId): FetchNode {
    if (!FETCH_MODIFIERS.has(node.modifier)) throw forbidden('fetch: unknown modifier')
    return super.transformFetch(node, queryId)
  }

  protected override transformTop(_node: TopNode, _queryId?: QueryId): TopNode {
    throw forbidden('top is not PostgreSQL; use limit')
  }

  protected override transformOrAction(_node: OrActionNode, _queryId?: QueryId): OrActionNode {
    throw forbidden('insert or ... is not PostgreSQL; use onConflict')
  }

  protected override transformTable(node: TableNode, queryId?: QueryId): TableNode {
    checkTableReference(node, { schema: this.#rules.builtinSchema, builtins: this.#rules.builtins, models: this.#rules.models })
    return super.transformTable(node, queryId)
  }

  // ---- helpers -------------------------------------------------------------------------------

  #policy() {
    const { builtinSchema, allowRawSql, allowFunctions } = this.#rules
    return { builtinSchema, allowRawSql, allowFunctions }
  }

  #resolve(item: OperationNode): ScopedTable | null {
    return resolveScopedTable(item, this.#tables)
  }

  #predicate(table: ScopedTable, reference = table.reference): OperationNode {
    const scope = this.#rules.scope
    const condition = sharesSystemRows(table.model, this.#rules.builtins)
      ? sharedRowsConditionNode(table.model, reference, scope)
      : scopeConditionNode(table.model, reference, scope)
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
    const table = this.#resolve(item)
    if (!table) return item
    if (wrap || visibleColumns(table.model, this.#rules.builtins)) return this.#filtered(item, table)
    wherePredicates.push(this.#predicate(table))
    return item
  }

  #scopeJoin(join: JoinNode, wherePredicates: OperationNode[]): JoinNode {
    const table = this.#resolve(join.table)
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
    if (this.#rules.scope.tenantId === null || !column) return
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
