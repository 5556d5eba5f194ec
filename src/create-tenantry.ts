import { Kysely, PostgresDialect } from 'kysely'
import type pg from 'pg'
import { z } from 'zod'
import type { AuditEvent } from './runtime/audit-event.js'
import { parseContext, type TenantContextInput } from './validation/context.js'
import type { TableDefinition } from './define-table.js'
import { mapDatabaseError, withTypedErrors } from './errors/map-database-error.js'
import { TenantryError } from './errors/tenantry-error.js'
import { validationError } from './errors/validation-error.js'
import { guardPool } from './runtime/guarded-pool.js'
import { isPipelinedPool } from './execution/pipelined-connection.js'
import { resolveRetry, type RetryOption } from './runtime/retry-policy.js'
import type { IsolationMode, RequestState, TenantryRuntime } from './runtime/runtime.js'
import { DEFAULT_SCHEMA, migrate, type MigrateOptions, type MigrateResult } from './migration/migrate.js'
import { builtinTableModels } from './schema/builtin-tables.js'
import { loadTableColumns } from './schema/table-introspection.js'
import { normaliseSoftDelete, type TableModel } from './schema/table-model.js'
import { checkIsolationMode } from './rls/isolation-check.js'
import { RowLevelSecurity } from './rls/row-level-security.js'
import { hostTargets } from './rls/rls-targets.js'
import { lintDeclaredTables } from './lint/lint-declared-tables.js'
import type { LintOptions, LintResult } from './lint/lint-types.js'
import { TenantScope } from './tenant-scope.js'
import { checkPermission } from './rbac/permission-check.js'
import { createTokenService, resolveTokenConfig, type TokenConfig, type TokenService } from './tokens/index.js'
import { resolveCursorKey } from './repository/cursor-key.js'
import { dispatchToSink } from './execution/audit-sink.js'
import { checkOptionKeys } from './validation/strict-options.js'
import { checkTableDefinition } from './schema/table-definition.js'
import { checkDeclaredReferences, checkReferenceColumns } from './schema/references.js'
import { refuseNulBytes } from './validation/text-value.js'
import { Citus } from './citus/citus-admin.js'
import { applyCitusPlacement } from './citus/citus-placement.js'
import { SCHEMA_NAME } from './util/identifiers.js'

/** The `tables` map of `createTenantry`: repository name → `defineTable` result. */
export type TableDefinitions<DB> = Record<string, TableDefinition<DB, any, any>>

export interface TenantryOptions<DB, Tables = TableDefinitions<DB>> {
  /** The host's pool. tenantry never creates or ends a pool. */
  pool?: pg.Pool
  /** Or an existing Kysely instance of the host. */
  db?: Kysely<DB>
  /** Postgres schema of the bundled tables. Defaults to `tenantry`. */
  schema?: string
  /**
   * Host tables, each declared with `defineTable`. Pass `typeof tables` as the second type argument
   * (`createTenantry<AppDB, typeof tables>`) so repositories know tenant columns other than `tenant_id`.
   */
  tables?: Tables & TableDefinitions<DB>
  /** `query` (default): predicates in every query. `rls`: row-level security as a second layer. */
  isolation?: IsolationMode
  /**
   * Gives the host's triggers the scope's context in query mode: every write (and every
   * `scope.transaction`) runs in a transaction whose first statement sets `tenantry.tenant_id`,
   * `tenantry.actor_id`, `tenantry.request_id` and `tenantry.system` transaction-locally, as under
   * RLS. Costs a single-statement write two round trips more (BEGIN with the settings, and
   * COMMIT); reads are unchanged. Off by default; under `isolation: 'rls'` the settings are always
   * there.
   * See docs/isolation.md.
   */
  triggerContext?: boolean
  audit?: {
    /** Columns never written to the audit trail or the sink, in any table. */
    redact?: string[]
    /** Receives committed events after commit; a failing sink never undoes the write. */
    sink?: (events: AuditEvent[]) => void | Promise<void>
    /** Told about sink failures. Defaults to a one-line `console.warn` without event contents. */
    onSinkError?: (error: unknown) => void
  }
  /**
   * Refresh-token rotation (`tenantry.tokens`): lifetimes, grace window, session cap and HMAC keys.
   * Without `keys` there is no grace window. See docs/refresh-tokens.md.
   */
  tokens?: TokenConfig
  /**
   * Key (at least 32 bytes) that signs page cursors with HMAC-SHA256. Hosts running several
   * processes behind one API must give them all the same key, or a cursor made by one process is
   * refused by another. Default: derived from the token signing key (`tokens.keys`) when there is
   * one, else a random key of this instance. See docs/repositories.md.
   */
  cursorKey?: string | Uint8Array
  /**
   * Retries of single-statement operations (repository reads and writes outside a transaction,
   * permission checks, token calls) on retryable errors: `true` for 3 attempts with jittered
   * backoff, or `{ attempts, baseDelayMs, maxDelayMs }`. Off by default. `OUTCOME_UNKNOWN` is never
   * retried. Transactions take their own `scope.transaction(fn, { retry })`. See docs/reliability.md.
   */
  retry?: RetryOption
}

const identifier = z.string().regex(SCHEMA_NAME, 'a lower-case SQL identifier')

// Strict: a misspelt option (`isolaton: 'rls'`, `audit.redcat`) is VALIDATION, never ignored.
const optionsSchema = z.strictObject({
  pool: z.unknown().optional(),
  db: z.unknown().optional(),
  schema: identifier.optional(),
  tables: z.record(z.string(), z.object({ table: z.string().min(1) }).loose()).optional(),
  isolation: z.enum(['query', 'rls']).optional(),
  triggerContext: z.boolean().optional(),
  tokens: z.unknown().optional(),
  cursorKey: z.union([z.string(), z.instanceof(Uint8Array)]).optional(),
  retry: z.unknown().optional(),
  audit: z
    .strictObject({
      redact: z.array(z.string()).optional(),
      sink: z.function().optional(),
      onSinkError: z.function().optional(),
    })
    .optional(),
})

const systemSchema = z.strictObject({
  actorId: z.uuid().nullish(),
  reason: z.string().trim().min(1).max(500),
})

/**
 * The entry point: a tenantry instance over the host's pool (or Kysely instance).
 *
 * @example
 * const tenantry = createTenantry<AppDB>({ pool, tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) } })
 * await tenantry.migrate()
 * const projects = tenantry.withContext({ tenantId, actorId }).repo('projects')
 */
export function createTenantry<DB = any, Tables extends TableDefinitions<DB> = {}>(options: TenantryOptions<DB, Tables>): Tenantry<DB, Tables> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw validationError('createTenantry: invalid options', parsed.error)
  for (const [name, definition] of Object.entries(options.tables ?? {})) checkTableDefinition(definition, `createTenantry: tables.${name}`)
  if (!options.pool === !options.db) {
    throw new TenantryError('CONFIGURATION', 'createTenantry: pass exactly one of `pool` or `db`')
  }
  const schema = options.schema ?? DEFAULT_SCHEMA
  const redact = options.audit?.redact ?? []
  const retry = resolveRetry(options.retry, 'createTenantry')
  // guardPool: a connection lost while tenantry holds a client is an error of the call, never a crash.
  const guarded = options.pool ? guardPool(options.pool) : undefined
  const root = (options.db as Kysely<any> | undefined) ?? new Kysely<any>({ dialect: new PostgresDialect({ pool: guarded! }) })
  const models = new Map<string, TableModel>()
  for (const [name, definition] of Object.entries(options.tables ?? {})) {
    models.set(name, {
      name,
      schema: definition.schema ?? 'public',
      table: definition.table,
      primaryKey: definition.primaryKey ?? 'id',
      tenantColumn: definition.tenantColumn ?? 'tenant_id',
      softDelete: normaliseSoftDelete(definition.softDelete),
      auditEnabled: definition.audit?.enabled ?? true,
      redacted: [...new Set([...redact, ...(definition.audit?.exclude ?? [])])],
      definition,
      columns: new Map(),
      updateSideEffects: [],
    })
  }
  checkDeclaredReferences(models)
  const builtins = builtinTableModels(schema, redact)
  const tokenConfig = options.tokens ? resolveTokenConfig(options.tokens) : null
  const signingKey = tokenConfig?.signingKid ? (tokenConfig.keys.get(tokenConfig.signingKid) ?? null) : null
  const cursorKey = resolveCursorKey(options.cursorKey, signingKey)
  let loading: Promise<void> | undefined
  let warned = false
  const warnOnce = (message: string) => {
    if (!warned) console.warn(message)
    warned = true
  }
  const runtime: TenantryRuntime = {
    root,
    pipelinedPool: guarded && isPipelinedPool(options.pool) ? guarded : undefined,
    schema,
    isolation: options.isolation ?? 'query',
    triggerContext: options.triggerContext ?? false,
    retry,
    distributedAudit: false,
    models,
    builtins,
    audit: {
      redact,
      sink: options.audit?.sink,
      onSinkError:
        options.audit?.onSinkError ??
        ((error) => console.warn(`tenantry: audit sink failed (${error instanceof Error ? error.name : typeof error}); events stay in audit_logs`)),
    },
    ready() {
      loading ??= loadTableColumns(root, [...models.values()], [...builtins.values()])
        // The database must match the isolation mode before the first query (same round trip).
        .then((security) => {
          applyCitusPlacement(runtime, security)
          checkIsolationMode(runtime.isolation, security, hostTargets(models.values()), warnOnce)
        })
        .then(() => checkReferenceColumns(models.values()))
        .catch((error) => {
          loading = undefined
          throw mapDatabaseError(error, 'ready')
        })
      return loading
    },
    cursorKey,
    tenantScopeFor: (state) => new TenantScope(state),
    hasPermission: (state, permission) => checkPermission(state, permission),
  }
  const tokens = createTokenService({
    db: root,
    schema,
    ...(options.tokens ? { config: options.tokens } : {}),
    onCommitted: (events) => dispatchToSink(runtime, events),
    retry,
    // Citus: a session without a tenant would fail on its audit row (citus-placement.ts)
    refusesTenantlessAudit: () => runtime.ready().then(() => runtime.distributedAudit),
  })
  return new Tenantry<DB, Tables>(runtime, tokens)
}

/** A tenantry instance. Make one per pool with `createTenantry`. */
export class Tenantry<DB = any, Tables = {}> {
  /** @internal */
  readonly runtime: TenantryRuntime
  /**
   * Refresh tokens: `issue`, `rotate`, `revoke`, `revokeSession`, `revokeAllForUser`,
   * `listSessions`, `prune`. Sessions are token families; reuse revokes the family.
   */
  readonly tokens: TokenService

  constructor(runtime: TenantryRuntime, tokens: TokenService) {
    this.runtime = runtime
    this.tokens = tokens
  }

  /** Postgres schema of the bundled tables. */
  get schema(): string {
    return this.runtime.schema
  }

  /** The host's database as a Kysely instance (unscoped: use it only for what tenantry does not cover). */
  get kysely(): Kysely<DB> {
    return this.runtime.root as Kysely<DB>
  }

  /**
   * A scope bound to one tenant. The context is validated here: no tenant, or a malformed one, is
   * an error before any SQL is sent.
   */
  withContext(context: TenantContextInput): TenantScope<DB, Tables> {
    return new TenantScope<DB, Tables>(this.#state({ context: parseContext(context), system: null }))
  }

  /** An explicit cross-tenant scope. `reason` is required and every write made through it is audited with it. */
  asSystem(actor: { actorId?: string | null; reason: string }): TenantScope<DB, Tables> {
    const parsed = systemSchema.safeParse(actor)
    if (!parsed.success) throw validationError('asSystem: a reason is required', parsed.error)
    refuseNulBytes(actor, 'asSystem')
    return new TenantScope<DB, Tables>(this.#state({ context: null, system: { actorId: parsed.data.actorId ?? null, reason: parsed.data.reason } }))
  }

  /** Applies the bundled migrations (idempotent, advisory-locked). */
  migrate(options: Pick<MigrateOptions, 'direction' | 'all'> = {}): Promise<MigrateResult> {
    // Only these two: `schema` or `db` here would migrate somewhere else than this instance uses.
    const { direction, all } = checkOptionKeys(options, ['direction', 'all'], 'migrate') as Pick<MigrateOptions, 'direction' | 'all'>
    return migrate({
      db: this.runtime.root,
      schema: this.runtime.schema,
      ...(direction === undefined ? {} : { direction }),
      ...(all === undefined ? {} : { all }),
    })
  }

  /** Row-level security, the second isolation layer: `enable()`, `disable()`, `status()`. */
  get rls(): RowLevelSecurity {
    return new RowLevelSecurity(this.runtime)
  }

  /** Citus scale-out: `distribute()` (reference and co-located distributed tables) and `status()`. See docs/scale-out.md. */
  get citus(): Citus {
    return new Citus(this.runtime)
  }

  /**
   * Lints the declared tables and tenantry's own tenant tables for multi-tenant safety: foreign
   * keys without the tenant column, missing tenant indexes, unique keys that are global across
   * tenants or count soft-deleted rows, and (in rls mode) missing policies or FORCE. Each finding
   * has a stable `code` and the SQL that fixes it. One round trip; changes nothing.
   *
   * @example
   * const { ok, findings } = await tenantry.lint()
   * for (const f of findings) console.log(`${f.code} ${f.table}: ${f.message}\n${f.fix}`)
   */
  lint(options?: LintOptions): Promise<LintResult> {
    return withTypedErrors('lint', lintDeclaredTables(this.runtime, options))
  }

  /** Reads the declared tables' columns now instead of on first use. */
  ready(): Promise<void> {
    return this.runtime.ready()
  }

  #state(scope: Pick<RequestState, 'context' | 'system'>): RequestState {
    return { runtime: this.runtime, ...scope, trx: null, pendingEvents: null, deferredOutcomes: null }
  }
}
