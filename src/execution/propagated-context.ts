import { CompiledQuery } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import type { RequestState } from '../runtime/runtime.js'
import { isLowerCaseUuid } from '../util/identifiers.js'

/**
 * The scope's context settings on Citus. `set_config(..., true)` stays on the coordinator, but the
 * statements of a write run on the workers, where host triggers read the context
 * (`triggerContext: true`). Citus carries `SET LOCAL` to the workers a transaction uses when
 * `citus.propagate_set_commands` is `'local'`, so there the context goes as `SET LOCAL` commands,
 * which also set it on the coordinator. `SET` takes no parameters: the ids are validated UUIDs and
 * the request id an escaped string constant.
 */

function uuidConstant(value: string | null | undefined): string {
  if (value === null || value === undefined) return "''"
  if (!isLowerCaseUuid(value)) throw new TenantryError('CONTEXT_MISSING', 'transaction context: the tenant or actor id is not a UUID')
  return `'${value}'`
}

/**
 * Free text as an escape string constant (`E'...'`): backslashes and quotes doubled, so it can
 * only be that text whatever `standard_conforming_strings` says. `parseContext` refused NUL bytes.
 */
function textConstant(value: string | null | undefined): string {
  if (value === null || value === undefined) return "''"
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/**
 * `begin` and the scope's context as `SET LOCAL` commands Citus propagates to the workers, in one
 * simple-protocol message (one round trip, as on one node). The same four settings as
 * `beginWithContextQuery`, cleared the same way.
 *
 * @example
 * await execute(state.runtime.distributedAudit ? beginWithPropagatedContext(state) : beginWithContextQuery(state))
 */
export function beginWithPropagatedContext(state: RequestState): CompiledQuery {
  const settings = state.system
    ? { system: "'on'", tenant_id: "''", actor_id: uuidConstant(state.system.actorId?.toLowerCase()), request_id: "''" }
    : {
        tenant_id: uuidConstant(state.context?.tenantId),
        actor_id: uuidConstant(state.context?.actorId),
        system: "''",
        request_id: textConstant(state.context?.requestId),
      }
  const sets = Object.entries(settings).map(([name, value]) => `set local tenantry.${name} = ${value}`)
  return CompiledQuery.raw(`begin; set local citus.propagate_set_commands = 'local'; ${sets.join('; ')}`)
}
