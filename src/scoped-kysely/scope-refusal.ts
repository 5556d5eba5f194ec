import { TenantryError } from '../errors/tenantry-error.js'

/** The error of everything `scope.db` refuses: `FORBIDDEN`, with a message naming the construct. */
export function forbidden(message: string): TenantryError {
  return new TenantryError('FORBIDDEN', `scope.db: ${message}`)
}
