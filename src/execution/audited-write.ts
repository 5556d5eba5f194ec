import type { Kysely } from 'kysely'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import type { RequestState } from '../runtime/runtime.js'
import { auditRowToEvent, recordOutcome } from './audit-statement.js'
import { inUnitOfWork } from './unit-of-work.js'

/**
 * What every audited write (repositories and RBAC alike) does around its statement: collect the
 * audit rows its data-modifying CTE returned, and when it fails, decide `denied` or `failure` and
 * leave that record so it survives the rollback.
 */

/** Name of the extra column carrying a write's audit rows (one object or an array); never returned. */
export const AUDIT_COLUMN = '__tenantry_audit'

const refusals = new WeakSet<object>()

/**
 * Marks `error` as a refusal, so the failed write is audited as `denied` rather than `failure`: a
 * write aimed at another tenant's row, another tenant's role, a refused invitation token.
 *
 * @example
 * throw denied(new TenantryError('NOT_FOUND', 'projects.update: no such row'))
 */
export function denied<E extends object>(error: E): E {
  refusals.add(error)
  return error
}

/** The one way tenantry decides whether a failed write is audited as `denied`. */
export function isDenied(error: unknown): boolean {
  return typeof error === 'object' && error !== null && refusals.has(error)
}

/**
 * Moves the audit records a data-modifying CTE returned alongside its rows (in `AUDIT_COLUMN`)
 * into `events`, for the sink after commit, and strips the column from the rows.
 */
export function collectAuditEvents<T extends Record<string, unknown>>(rows: T[], events: AuditEvent[]): T[] {
  for (const row of rows) {
    if (!(AUDIT_COLUMN in row)) continue
    const audit = row[AUDIT_COLUMN] as Record<string, unknown> | Record<string, unknown>[] | null
    for (const record of Array.isArray(audit) ? audit : audit ? [audit] : []) events.push(auditRowToEvent(record))
    delete row[AUDIT_COLUMN]
  }
  return rows
}

export interface FailedWrite {
  action: string
  resourceType: string | null
  resourceId: string | null
  /** Tenant of the row, when it differs from the scope's (system scopes). */
  tenantId?: string | null
  metadata?: Record<string, unknown>
}

/**
 * Leaves the `denied` (see `denied`) or `failure` row of a write (or a permission check) that
 * failed, outside its rolled back transaction, and returns the error for the caller to throw.
 */
export async function recordFailedWrite(state: RequestState, error: unknown, write: FailedWrite): Promise<unknown> {
  await recordOutcome(state, {
    action: write.action,
    resourceType: write.resourceType,
    resourceId: write.resourceId,
    outcome: isDenied(error) ? 'denied' : 'failure',
    errorCode: error instanceof TenantryError ? error.code : 'ERROR',
    ...(write.tenantId !== undefined ? { tenantId: write.tenantId } : {}),
    ...(write.metadata !== undefined ? { metadata: write.metadata } : {}),
  })
  return error
}

export interface AuditedWriteOptions {
  /** Named in mapped errors (`projects.update`, `roles.assign`). */
  operation: string
  /** A transaction even outside `scope.transaction` (hooks, several statements). */
  needsTransaction?: boolean
  /** The record of a failure, asked once it failed (it may name what the work saw); `null` records nothing. */
  failure: () => FailedWrite | null
  /** Rewrites the mapped error before it is recorded and thrown (a clearer message). */
  explain?: (error: unknown) => unknown
  /** Runs once the write committed or failed, after its failure record (forgets cached permissions). */
  settle?: () => void
}

/**
 * The audited write pipeline: `work` runs as one unit of work (its statements carry their audit
 * CTEs and hand the events to `collectAuditEvents`); a failure is mapped to a `TenantryError`,
 * recorded as `denied` or `failure` outside the rolled-back transaction, and thrown.
 *
 * @example
 * return auditedWrite(state, { operation: 'roles.unassign', failure: () => ({ action, resourceType: 'user_roles', resourceId: null }) },
 *   async (db, inner, events) => collectAuditEvents((await statement.execute(db)).rows, events))
 */
export async function auditedWrite<T>(
  state: RequestState,
  options: AuditedWriteOptions,
  work: (db: Kysely<any>, inner: RequestState, events: AuditEvent[]) => Promise<T>,
): Promise<T> {
  try {
    return await inUnitOfWork(state, options.needsTransaction === true, work)
  } catch (error) {
    const mapped = mapDatabaseError(error, options.operation)
    const explained = options.explain ? options.explain(mapped) : mapped
    const failure = options.failure()
    if (failure) await recordFailedWrite(state, explained, failure)
    throw explained
  } finally {
    options.settle?.()
  }
}
