import { auditRowToEvent } from '../execution/audit-statement.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import { AUDIT_COLUMN } from '../repository/write-statements.js'

/**
 * Moves the audit records that a data-modifying CTE returned alongside its rows (in
 * `AUDIT_COLUMN`, one object or an array) into `events`, for the sink after commit, and strips the
 * column from the rows.
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
