import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { isLowerCaseUuid } from '../util/identifiers.js'

/**
 * The scope's context settings (`tenantry.<name>`) as SQL text, for the BEGIN of a transaction
 * that sets them: one place decides their values, whether they go as `set_config` calls
 * (`context-transaction.ts`) or as `SET LOCAL` commands Citus propagates (`propagated-context.ts`).
 */

export type ContextSettingName = 'tenant_id' | 'actor_id' | 'system' | 'request_id'

/** A validated UUID as an SQL literal; anything else never reaches the SQL text. */
function uuidLiteral(value: string | null | undefined): string {
  if (value === null || value === undefined) return "''"
  if (!isLowerCaseUuid(value)) throw new TenantryError('CONTEXT_MISSING', 'transaction context: the tenant or actor id is not a UUID')
  return `'${value}'`
}

/**
 * The four settings of `state` as SQL: a system scope sets `system` and its actor and clears the
 * tenant, so a value left on the connection cannot narrow or widen it; a tenant scope clears
 * `system` explicitly, so even a session-level value cannot widen a tenant scope. `text` renders
 * the free-text request id as something that can only be that text.
 *
 * @example
 * const settings = contextSettings(state, (value) => `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`)
 */
export function contextSettings(state: RequestState, text: (value: string) => string): Record<ContextSettingName, string> {
  if (state.system) return { system: "'on'", tenant_id: "''", actor_id: uuidLiteral(state.system.actorId?.toLowerCase()), request_id: "''" }
  const requestId = state.context?.requestId
  return {
    tenant_id: uuidLiteral(state.context?.tenantId),
    actor_id: uuidLiteral(state.context?.actorId),
    system: "''",
    request_id: requestId === null || requestId === undefined ? "''" : text(requestId),
  }
}
