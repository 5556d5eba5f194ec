import { CompiledQuery } from 'kysely'
import type { RequestState } from '../runtime/runtime.js'
import { contextSettings } from './context-settings.js'

/**
 * The scope's context settings on Citus. `set_config(..., true)` stays on the coordinator, but the
 * statements of a write run on the workers, where host triggers read the context
 * (`triggerContext: true`). Citus carries `SET LOCAL` to the workers a transaction uses when
 * `citus.propagate_set_commands` is `'local'`, so there the context goes as `SET LOCAL` commands,
 * which also set it on the coordinator. `SET` takes no parameters: the ids are validated UUIDs and
 * the request id an escaped string constant.
 */

/**
 * Free text as an escape string constant (`E'...'`): backslashes and quotes doubled, so it can
 * only be that text whatever `standard_conforming_strings` says. `parseContext` refused NUL bytes.
 */
function textConstant(value: string): string {
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
  const settings = contextSettings(state, textConstant)
  const sets = Object.entries(settings).map(([name, value]) => `set local tenantry.${name} = ${value}`)
  return CompiledQuery.raw(`begin; set local citus.propagate_set_commands = 'local'; ${sets.join('; ')}`)
}
