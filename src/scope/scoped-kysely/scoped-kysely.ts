import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type Dialect } from 'kysely'
import { TenantryError } from '../../errors/tenantry-error.js'
import { scopeTenantId, type ScopeState } from '../../execution/runtime.js'
import type { DeletedView } from '../row-scope.js'
import { ScopedConnectionProvider } from './scoped-connection-provider.js'
import { ScopedDriver } from './scoped-driver.js'
import { TenantScopePlugin } from './tenant-scope-plugin.js'
import { checkOptionKeys } from '../../validation/strict-options.js'

export interface ScopedDbOptions {
  /** Soft-deleted rows: hidden (`live`, default), shown too (`all`), or only those (`deleted`). */
  view?: DeletedView
  /**
   * Let raw `sql` fragments and compiled queries through. tenantry cannot scope what it cannot
   * read: such SQL is on its own (row-level security still applies in `rls` mode).
   */
  allowRawSql?: boolean
}

const VIEWS: readonly DeletedView[] = ['live', 'all', 'deleted']

/** PostgreSQL compiler and adapter; the driver slot is a stub, connections come from the scope. */
const scopedDialect: Dialect = {
  createDriver: () => new ScopedDriver(),
  createQueryCompiler: () => new PostgresQueryCompiler(),
  createAdapter: () => new PostgresAdapter(),
  createIntrospector: (db) => new PostgresIntrospector(db),
}

/**
 * A `Kysely<DB>` bound to one scope: every query built through it carries the tenant and
 * soft-delete predicates of each declared table it touches, inserts get the tenant column, and it
 * runs on the scope's transaction when there is one (under RLS, with the context set).
 */
export function createScopedKysely<DB>(state: ScopeState, options: ScopedDbOptions = {}): Kysely<DB> {
  checkOptionKeys(options, ['view', 'allowRawSql'], 'scopedDb')
  const view = options.view ?? 'live'
  if (!VIEWS.includes(view)) throw new TenantryError('VALIDATION', `scopedDb: view must be one of ${VIEWS.join(', ')}`)
  const allowRawSql = options.allowRawSql === true
  // One handle per scope and options, so builders of `scope.db` can be nested in each other.
  const key = `${view}:${allowRawSql}`
  let handles = cache.get(state)
  if (!handles) cache.set(state, (handles = new Map()))
  let db = handles.get(key)
  if (!db) handles.set(key, (db = build(state, view, allowRawSql)))
  return db as Kysely<DB>
}

const cache = new WeakMap<ScopeState, Map<string, Kysely<any>>>()

function build(state: ScopeState, view: DeletedView, allowRawSql: boolean): Kysely<any> {
  const runtime = state.runtime
  const plugin = new TenantScopePlugin({
    models: [...runtime.models.values(), ...runtime.builtins.values()],
    scope: { tenantId: scopeTenantId(state), view },
    allowRawSql,
  })
  const base = (state.trx ?? runtime.root).getExecutor()
  // Our plugin runs after the host's (CamelCasePlugin, ...), so it sees the final table names.
  const executor = base.withPlugin(plugin).withConnectionProvider(new ScopedConnectionProvider(base, state, plugin, allowRawSql))
  return new Kysely<any>({ config: { dialect: scopedDialect }, executor, driver: new ScopedDriver(), dialect: scopedDialect })
}
