import {
  AndNode,
  isColumnDataType,
  OnNode,
  OperationNodeTransformer,
  OPERATORS,
  OrNode,
  type AggregateFunctionNode,
  type DataTypeNode,
  type ExplainNode,
  type FetchNode,
  type FunctionNode,
  type OperationNode,
  type OperatorNode,
  type OrActionNode,
  type OrderByItemNode,
  type QueryId,
  type RawNode,
  type SetOperationNode,
  type TopNode,
} from 'kysely'
import { checkFunctionCall, type FunctionPolicy } from './function-policy.js'
import { isKyselyDirection, isKyselyOnTrue } from './kysely-own-nodes.js'
import { forbidden } from './scope-refusal.js'

export interface VerbatimGuardRules {
  /** Let `sql` fragments through. */
  allowRawSql: boolean
  /** Nodes the scope produced itself (its predicates are raw SQL it trusts). */
  produced: WeakSet<OperationNode>
  functions: FunctionPolicy
}

/** Words Kysely prints verbatim from a node; a hand-made node could carry SQL in them. */
const KNOWN_OPERATORS = new Set<string>(OPERATORS)
const SET_OPERATORS = new Set(['union', 'intersect', 'except'])
const NULLS = new Set([undefined, 'first', 'last'])
const EXPLAIN_FORMATS = new Set([undefined, 'text', 'xml', 'json', 'yaml', 'traditional', 'tree'])
const FETCH_MODIFIERS = new Set(['only', 'with ties'])
/** Kysely's postgres JSON helpers, by the start of the `sql` they are made of, to name them when refused. */
const JSON_HELPERS: readonly (readonly [string, string])[] = [
  ['jsonArrayFrom', "(select coalesce(json_agg(agg), '[]') from "],
  ['jsonObjectFrom', '(select to_json(obj) from '],
  ['jsonBuildObject', 'json_build_object('],
]
/** Kinds of Kysely's schema (DDL) nodes. */
const SCHEMA_NODE = /^(Create|Drop|Alter|Add|Rename|Refresh|Modify)[A-Z][A-Za-z]*Node$/

/**
 * The first half of `scope.db`'s transformer: everything Kysely would print verbatim into the SQL
 * text. Raw `sql` is refused (except Kysely's own `asc`/`desc` directions and `on true`, see
 * `kysely-own-nodes.ts`), function names go through the function policy, and the strings of
 * hand-made nodes (operators, data types, set operators, `nulls`, explain formats, fetch
 * modifiers) must be what Kysely's builders make. `TenantScopeTransformer` adds the scoping.
 */
export class VerbatimGuardTransformer extends OperationNodeTransformer {
  readonly #guard: VerbatimGuardRules

  constructor(guard: VerbatimGuardRules) {
    super()
    this.#guard = guard
  }

  override transformNode<T extends OperationNode | undefined>(node: T, queryId?: QueryId): T {
    // Schema statements nested in a query (hand-made nodes) would print DDL text into it.
    if (node && SCHEMA_NODE.test(node.kind)) throw forbidden(`${node.kind.replace(/Node$/, '')} is refused: scope.db runs no DDL`)
    return super.transformNode(node, queryId)
  }

  protected override transformRaw(node: RawNode, queryId?: QueryId): RawNode {
    if (this.#guard.produced.has(node)) return node
    if (!this.#guard.allowRawSql) {
      const helper = JSON_HELPERS.find(([, start]) => node.sqlFragments[0]?.startsWith(start))?.[0]
      const what = helper ? `${helper} (kysely/helpers/postgres) is built from raw \`sql\`` : 'raw `sql` is refused because tenantry cannot scope it'
      throw forbidden(`${what}; use scope.scopedDb({ allowRawSql: true }) to allow it`)
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
    checkFunctionCall(node.func, this.#guard.functions)
    return super.transformFunction(node, queryId)
  }

  protected override transformAggregateFunction(node: AggregateFunctionNode, queryId?: QueryId): AggregateFunctionNode {
    checkFunctionCall(node.func, this.#guard.functions, 'aggregate function')
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
}
