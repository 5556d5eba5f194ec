import { Kysely, PostgresAdapter, PostgresQueryCompiler, type CompiledQuery, type DatabaseIntrospector, type Dialect } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import type { DeletedView } from '../predicates/row-visibility.js'
import { PLAIN_FUNCTION } from './function-policy.js'
import { forbidden } from './scope-refusal.js'
import { ScopedConnectionProvider } from './scoped-connection-provider.js'
import { ScopedDriver } from './scoped-driver.js'
import { ScopedQueryExecutor } from './scoped-query-executor.js'
import { TenantScopePlugin } from './tenant-scope-plugin.js'
import { authorizeQuery } from './query-table-access.js'
import { checkOptionKeys } from '../validation/strict-options.js'

export interface ScopedDbOptions {
  /** Soft-deleted rows: hidden (`live`, default), shown too (`all`), or only those (`deleted`). */
  view?: DeletedView
  /**
   * Let raw `sql` fragments and compiled queries through. tenantry cannot scope what it cannot
   * read: such SQL is on its own (row-level security still applies in `rls` mode). Trusted code
   * only: raw SQL can also change the row-level security context of its transaction.
   */
  allowRawSql?: boolean
  /**
   * Functions to allow besides the built-in list (see docs/isolation.md), e.g. `['similarity',
   * 'public.slugify']`: functions you vouch for, that neither read other tables nor change state.
   * The refused ones (`set_config`, `pg_*`, tenantry's own, ...) stay refused.
   */
  allowFunctions?: string[]
}

const VIEWS: readonly DeletedView[] = ['live', 'all', 'deleted']

function refuseIntrospection(): never {
  throw forbidden("introspection is refused (it reads the catalog with raw sql); use the host's own Kysely")
}

/** An introspector that refuses: Kysely's would run raw catalog queries through the scope. */
const refusingIntrospector: DatabaseIntrospector = {
  getSchemas: async () => refuseIntrospection(),
  getTables: async () => refuseIntrospection(),
}

/** PostgreSQL compiler and adapter; the driver slot is a stub, connections come from the scope. */
const scopedDialect: Dialect = {
  createDriver: () => new ScopedDriver(),
  createQueryCompiler: () => new PostgresQueryCompiler(),
  createAdapter: () => new PostgresAdapter(),
  createIntrospector: () => refusingIntrospector,
}

/**
 * A `Kysely<DB>` bound to one scope: every query built through it carries the tenant and
 * soft-delete predicates of each declared table it touches, inserts get the tenant column, and it
 * runs on the scope's transaction when there is one (under RLS, with the context set).
 */
export function createScopedKysely<DB>(state: RequestState, options: ScopedDbOptions = {}): Kysely<DB> {
  checkOptionKeys(options, ['view', 'allowRawSql', 'allowFunctions'] satisfies (keyof ScopedDbOptions)[], 'scopedDb')
  const view = options.view ?? 'live'
  if (!VIEWS.includes(view)) throw new TenantryError('VALIDATION', `scopedDb: view must be one of ${VIEWS.join(', ')}`)
  const allowRawSql = options.allowRawSql === true
  const allowFunctions = options.allowFunctions ?? []
  if (!Array.isArray(allowFunctions) || !allowFunctions.every((f) => typeof f === 'string' && PLAIN_FUNCTION.test(f))) {
    throw new TenantryError('VALIDATION', 'scopedDb: allowFunctions must be function names (optionally schema-qualified)')
  }
  const functions = [...new Set(allowFunctions.map((f) => f.toLowerCase()))].sort()
  // One handle per scope and options, so builders of `scope.db` can be nested in each other.
  const key = `${view}:${allowRawSql}:${functions.join(',')}`
  let handles = cache.get(state)
  if (!handles) {
    handles = new Map()
    cache.set(state, handles)
  }
  let db = handles.get(key)
  if (!db) {
    db = build(state, view, allowRawSql, functions)
    handles.set(key, db)
  }
  return db as Kysely<DB>
}

const cache = new WeakMap<RequestState, Map<string, Kysely<any>>>()

function build(state: RequestState, view: DeletedView, allowRawSql: boolean, allowFunctions: string[]): Kysely<any> {
  const runtime = state.runtime
  const tenantScope = new TenantScopePlugin({
    models: [...runtime.models.values()],
    builtins: [...runtime.builtins.values()],
    builtinSchema: runtime.schema,
    visibility: { tenantId: requestTenantId(state), view },
    allowRawSql,
    allowFunctions: new Set(allowFunctions),
  })
  const base = (state.trx ?? runtime.root).getExecutor()
  const sealed = new WeakSet<CompiledQuery>()
  // The host's plugins (CamelCasePlugin, ...) run first, so the tenant scope sees the final table names.
  const executor = new ScopedQueryExecutor({
    compiler: base,
    adapter: base.adapter,
    connectionProvider: new ScopedConnectionProvider(base, state, sealed, allowRawSql),
    plugins: base.plugins,
    tenantScope,
    sealed,
    allowRawSql,
    access: new WeakMap(),
    authorize: (query, access) => authorizeQuery(state, query, access),
  })
  return new Kysely<any>({ config: { dialect: scopedDialect }, executor, driver: new ScopedDriver(), dialect: scopedDialect })
}
