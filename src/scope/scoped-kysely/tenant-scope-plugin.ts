import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import { TenantScopeTransformer, type TenantScopeRules } from './tenant-scope-transformer.js'

/**
 * The Kysely plugin behind `scope.db`: it wires, `TenantScopeTransformer` does the tree work.
 * It also remembers (per `queryId`, in a `WeakSet`) which queries it has rewritten, so the scoped
 * connection can refuse a `CompiledQuery` that never passed through it.
 */
export class TenantScopePlugin implements KyselyPlugin {
  readonly #rules: TenantScopeRules
  readonly #rewritten = new WeakSet<QueryId>()

  constructor(rules: Omit<TenantScopeRules, 'produced'>) {
    this.#rules = { ...rules, produced: new WeakSet<OperationNode>() }
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    // A transformer per query: it is cheap, and no state can leak between queries.
    const node = new TenantScopeTransformer(this.#rules).transformNode(args.node, args.queryId)
    this.#rewritten.add(args.queryId)
    return node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }

  /** Whether the query with this id was rewritten by this plugin. */
  hasRewritten(queryId: QueryId): boolean {
    return this.#rewritten.has(queryId)
  }
}
