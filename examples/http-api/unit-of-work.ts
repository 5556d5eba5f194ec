/**
 * The API's tenant middleware: the bearer token names the user and tenant; the request then runs
 * in one `scope.transaction`, so all its writes and their audit rows commit together or not at all.
 */
import type { MiddlewareHandler } from 'hono'
import type { ApiDeps, ApiEnv } from './api-env.js'
import { apiError } from './error-response.js'
import { requestInfo } from './request-info.js'

export function unitOfWork({ tenantry, accessTokens }: ApiDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const claims = accessTokens.verify(c.req.header('authorization')?.replace(/^Bearer\s+/i, ''))
    if (!claims) return apiError(c, 401, 'UNAUTHENTICATED', 'a valid bearer access token is required')
    const { ip, userAgent, requestId } = requestInfo(c)
    c.set('claims', claims)
    const scope = tenantry.withContext({ tenantId: claims.tenantId, actorId: claims.userId, ip, userAgent, requestId })
    try {
      await scope.transaction(async (tx) => {
        c.set('scope', tx)
        await next()
        // Hono has already turned a handler's error into a response (onError); throwing it again
        // here rolls the transaction back. Denied and failure audit rows survive the rollback.
        if (c.error) throw c.error
      })
    } catch (error) {
      if (error !== c.error) throw error
    }
  }
}
