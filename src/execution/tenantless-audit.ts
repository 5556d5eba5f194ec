import { TenantryError } from '../errors/tenantry-error.js'
import type { AuditEvent, OutcomeRecord } from '../runtime/audit-event.js'
import { requestActorId, type RequestState } from '../runtime/runtime.js'

/**
 * Audit events without a tenant on Citus. A distributed `audit_logs` cannot hold them: its
 * distribution column is `tenant_id`, and Citus refuses NULL there. tenantry refuses such a write
 * (or custom event) with `CONFIGURATION` before the database does, naming the reason; a `failure`
 * or `denied` record without a tenant goes to the audit sink only, since it must never mask the
 * error it records. Single-node installs store them all.
 */

/** The tenant an outcome record is stored under (as `auditEventInsert` writes it). */
function outcomeTenant(state: RequestState, record: OutcomeRecord): string | null {
  return record.tenantId !== undefined ? record.tenantId : (state.context?.tenantId ?? null)
}

/** Whether `audit_logs` can hold this record: always, unless it is distributed and the record has no tenant. */
export function storableOutcome(state: RequestState, record: OutcomeRecord): boolean {
  return !state.runtime.distributedAudit || outcomeTenant(state, record) !== null
}

/** The event of a record `audit_logs` cannot hold, for the sink alone (no `id`: it was never stored). */
export function unstoredOutcomeEvent(state: RequestState, record: OutcomeRecord): AuditEvent {
  const ctx = state.context
  const metadata = state.system ? { system: true, reason: state.system.reason, ...record.metadata } : { ...record.metadata }
  return {
    tenantId: null,
    actorUserId: requestActorId(state),
    action: record.action,
    resourceType: record.resourceType,
    resourceId: record.resourceId,
    oldValues: null,
    newValues: null,
    changedFields: null,
    ip: ctx?.ip ?? null,
    userAgent: ctx?.userAgent ?? null,
    requestId: ctx?.requestId ?? null,
    outcome: record.outcome,
    errorCode: record.errorCode,
    metadata,
    createdAt: new Date(),
  }
}

/** Why an audit event without a tenant is refused once `audit_logs` is distributed. */
export function tenantlessAuditError(action: string): TenantryError {
  return new TenantryError(
    'CONFIGURATION',
    `${action}: audit_logs is distributed by tenant_id (Citus), so an audit event without a tenant cannot be stored; run it in a tenant scope (see docs/scale-out.md)`,
    { operation: action },
  )
}
