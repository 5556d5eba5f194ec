import type { TenantryRuntime } from '../runtime/runtime.js'
import type { AuditEvent } from '../runtime/audit-event.js'

/**
 * Hands committed events to the host's sink. A failing sink never undoes or loses the write: the
 * rows are already committed in `audit_logs`, and the error goes to `audit.onSinkError`.
 */
export async function dispatchToSink(runtime: TenantryRuntime, events: AuditEvent[]): Promise<void> {
  const sink = runtime.audit.sink
  if (!sink || events.length === 0) return
  try {
    await sink(events)
  } catch (error) {
    runtime.audit.onSinkError(error)
  }
}
