/** What the API's handlers get from its middleware. */
import type { AccessClaims, AccessTokens } from './access-token.js'
import type { ApiDB } from './api-schema.js'
import type { Tenantry, TransactionScope } from '../demo-imports.js'

export interface ApiEnv {
  Variables: {
    /** The request's unit of work: a tenant scope inside one database transaction. */
    scope: TransactionScope<ApiDB>
    claims: AccessClaims
  }
}

/** What `createApp` is built from. */
export interface ApiDeps {
  tenantry: Tenantry<ApiDB>
  accessTokens: AccessTokens
}
