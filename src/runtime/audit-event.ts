/** Outcome of an audited operation. */
export type AuditOutcome = 'success' | 'failure' | 'denied'

/**
 * One row of `audit_logs`, as written and as handed to `audit.sink` after commit.
 * Redacted columns are already removed from `oldValues` and `newValues`.
 */
export interface AuditEvent {
  id?: string
  tenantId: string | null
  actorUserId: string | null
  /** `<table>.<operation>` for repository writes (`projects.update`), free-form for `record()`. */
  action: string
  resourceType: string | null
  resourceId: string | null
  oldValues: Record<string, unknown> | null
  newValues: Record<string, unknown> | null
  changedFields: string[] | null
  ip: string | null
  userAgent: string | null
  requestId: string | null
  outcome: AuditOutcome
  errorCode: string | null
  metadata: Record<string, unknown>
  createdAt?: Date
}

/** A `failure`, `denied` or custom event that is not a row change, as the audit writer records it. */
export interface OutcomeRecord {
  action: string
  resourceType: string | null
  resourceId: string | null
  outcome: AuditOutcome
  errorCode: string | null
  metadata?: Record<string, unknown>
  /** Tenant of the row, when it differs from the scope's (system scopes). */
  tenantId?: string | null
}
