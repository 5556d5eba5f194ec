import type { KeyObject } from 'node:crypto'
import type { Kysely, PostgresPool } from 'kysely'
import type { AuditEvent, OutcomeRecord } from './audit-event.js'
import type { TenantContext } from '../validation/context.js'
import type { BuiltinTableName } from '../schema/builtin-tables.js'
import type { TableModel } from '../schema/table-model.js'
import type { RetryPolicy } from './retry-policy.js'

export type IsolationMode = 'query' | 'rls'

/** What one `createTenantry` instance shares with all its scopes. */
export interface TenantryRuntime {
  root: Kysely<any>
  /**
   * The host's pool when it pipelines (`new pg.Pool({ pipeline: true })`): units of work then send
   * BEGIN, their statements and COMMIT without waiting in between (see `pipelined-connection.ts`).
   */
  pipelinedPool?: PostgresPool | undefined
  /** Postgres schema of the bundled tables. */
  schema: string
  isolation: IsolationMode
  /**
   * Query mode: every write runs in a transaction that first sets the context settings
   * (`tenantry.tenant_id`, `tenantry.actor_id`, `tenantry.request_id`, `tenantry.system`), for host
   * triggers (`createTenantry({ triggerContext })`). Under RLS they are always set.
   */
  triggerContext: boolean
  models: Map<string, TableModel>
  /** The bundled tables (`scope.tenants`, `scope.users`, ...). */
  builtins: Map<BuiltinTableName, TableModel>
  audit: {
    redact: string[]
    sink: ((events: AuditEvent[]) => void | Promise<void>) | undefined
    /** Called when the sink throws: the write stays committed, the error is reported here. */
    onSinkError: (error: unknown) => void
  }
  /** Signs and checks page cursors (HMAC-SHA256); see `resolveCursorKey`. */
  cursorKey: KeyObject
  /**
   * Retries of single-statement operations (repository reads and writes outside a transaction,
   * token calls) on retryable errors; `createTenantry({ retry })`. One attempt by default.
   */
  retry: RetryPolicy
  /**
   * `audit_logs` is a Citus distributed table: audited writes send the change and its audit insert
   * as two router statements (`split-audit-statement.ts`). Read by `ready()`, set by `citus.distribute()`.
   */
  distributedAudit: boolean
  /** Resolves once the declared tables' columns are known (one round trip, first use only). */
  ready(): Promise<void>
  /**
   * The public `TenantScope` over a state (hooks receive the transaction as a scope). Typed
   * `unknown` here so the layers below the front door never name `TenantScope`; `defineTable`
   * gives hooks the precise type.
   */
  tenantScopeFor(state: RequestState): unknown
  /**
   * `scope.can(permission)` for the scope of `state` (cached per scope). Handed down by the front
   * door so that the layers below `rbac/` enforce tables' declared permissions with the same rule.
   */
  hasPermission(state: RequestState, permission: string): Promise<boolean>
}

/** An explicit cross-tenant scope made by `asSystem`. */
export interface SystemActor {
  actorId: string | null
  reason: string
}

/**
 * The state behind one `TenantScope`: a request's context (`withContext`) or a system actor
 * (`asSystem`), maybe inside a transaction.
 */
export interface RequestState {
  runtime: TenantryRuntime
  context: TenantContext | null
  system: SystemActor | null
  /**
   * Set inside `scope.transaction` (and a unit of work's own transaction): a Kysely bound to the
   * transaction's connection. Under RLS it is not a Kysely `Transaction`, because tenantry sends
   * BEGIN itself, together with the context.
   */
  trx: Kysely<any> | null
  /** Audit events of the open transaction, handed to the sink after it commits. */
  pendingEvents: AuditEvent[] | null
  /**
   * `failure`/`denied` records raised inside `scope.transaction`, written once it has ended, so a
   * pool of one connection never waits on itself.
   */
  deferredOutcomes: OutcomeRecord[] | null
}

/** The tenant whose rows the request sees; `null` for a system scope. */
export function requestTenantId(state: RequestState): string | null {
  return state.context?.tenantId ?? null
}

/** The actor of the request context, else of the system scope; `null` when neither names one. */
export function requestActorId(state: RequestState): string | null {
  return state.context?.actorId ?? state.system?.actorId ?? null
}
