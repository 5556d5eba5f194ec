import { TenantryError } from '../errors/tenantry-error.js'

/** Messages are fixed strings: they never carry the token, its selector or any hash. */
export const tokenInvalid = (operation: string): TenantryError =>
  new TenantryError('TOKEN_INVALID', `${operation}: the refresh token is not valid`, { operation })

export const tokenExpired = (operation: string): TenantryError =>
  new TenantryError('TOKEN_EXPIRED', `${operation}: the refresh token has expired`, { operation })

export const tokenRevoked = (operation: string): TenantryError =>
  new TenantryError('TOKEN_REVOKED', `${operation}: the session of this refresh token was revoked`, { operation })

export const tokenReused = (operation: string): TenantryError =>
  new TenantryError('TOKEN_REUSED', `${operation}: a used refresh token was presented again; its session has been revoked`, { operation })
