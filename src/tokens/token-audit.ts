import type { AuditEvent } from '../runtime/audit-event.js'
import { auditRowToEvent } from '../execution/audit-statement.js'

/** Called with the audit events of a token operation after its transaction has committed. */
export type TokenAuditCallback = (events: AuditEvent[]) => void | Promise<void>

/**
 * Hands committed audit rows (as returned by the `tokens_*` functions) to `onCommitted`. The rows
 * are already in `audit_logs`; a failing callback is swallowed so it can never undo or mask the
 * token operation, and it never sees a token or hash because the rows never hold one.
 */
export async function notifyCommitted(onCommitted: TokenAuditCallback | undefined, rows: Record<string, unknown>[]): Promise<void> {
  if (!onCommitted || rows.length === 0) return
  try {
    await onCommitted(rows.map(auditRowToEvent))
  } catch {
    // Deliberately ignored: see above.
  }
}
