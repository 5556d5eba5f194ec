import { TenantryError } from './tenantry-error.js'

/**
 * Refuses a write from a hook: throws a `FORBIDDEN` error, which rolls the write back and leaves a
 * `failure` audit row with the code.
 *
 * @example
 * hooks: { beforeUpdate: (patch) => { if (patch.status === 'archived') veto('archived projects are read-only') } }
 */
export function veto(reason: string): never {
  throw new TenantryError('FORBIDDEN', `vetoed by hook: ${reason}`)
}
