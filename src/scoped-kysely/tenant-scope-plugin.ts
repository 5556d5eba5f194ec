import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import { forbidden } from './scope-refusal.js'
import { TenantScopeTransformer, type TenantScopeRules } from './tenant-scope-transformer.js'
import type { QueryTableAccess } from './query-table-access.js'

/** Statements `scope.db` runs: queries it can scope. DDL (`scope.db.schema`) is never tenant data. */
const SCOPED_ROOTS = new Set(['SelectQueryNode', 'InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'RawNode', 'MergeQueryNode'])

/**
 * The Kysely plugin behind `scope.db`: it wires, `TenantScopeTransformer` does the tree work.
 * It remembers (in a `WeakSet`) the root nodes it has produced, so the scoped executor compiles
 * nothing else.
 */
export class TenantScopePlugin implements KyselyPlugin {
  readonly #rules: TenantScopeRules
  readonly #outputs = new WeakSet<OperationNode>()

  constructor(rules: Omit<TenantScopeRules, 'produced' | 'accessOf'>) {
    this.#rules = { ...rules, produced: new WeakSet<OperationNode>(), accessOf: new WeakMap() }
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (!SCOPED_ROOTS.has(args.node.kind)) {
      throw forbidden(`${args.node.kind.replace(/Node$/, '')} statements (scope.db.schema) are refused; run DDL with the host's own Kysely`)
    }
    // A transformer per query: it is cheap, and no state can leak between queries.
    const transformer = new TenantScopeTransformer(this.#rules)
    const node = transformer.transformNode(args.node, args.queryId)
    this.#outputs.add(node)
    if (transformer.access) this.#rules.accessOf.set(node, transformer.access)
    return node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }

  /** The tables with declared permissions that a statement this plugin produced touches; `undefined` when none. */
  accessOf(node: OperationNode): QueryTableAccess | undefined {
    return this.#rules.accessOf.get(node)
  }

  /** Whether this plugin produced `node` as the result of `transformQuery`. */
  hasProduced(node: OperationNode): boolean {
    return this.#outputs.has(node)
  }
}
