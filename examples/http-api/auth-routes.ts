/**
 * Login, refresh and logout on tenantry's token API. Token calls commit on their own (a reuse
 * revocation must stick whatever the request does next), so these routes are not wrapped in a
 * unit of work. Tokens travel in JSON bodies here for brevity; a browser app would put the refresh
 * token in an `httpOnly`, `secure`, `sameSite=strict` cookie.
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { ApiDeps } from './api-env.js'
import { apiError } from './error-response.js'
import { verifyPassword } from './password.js'
import { requestInfo } from './request-info.js'
import type { IssuedToken } from '../demo-imports.js'

const LoginBody = z.strictObject({ tenant: z.string().min(1).max(100), email: z.string().min(3).max(320), password: z.string().min(1).max(1000) })
const TokenBody = z.strictObject({ refreshToken: z.string().min(1).max(200) })

async function body<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T> | null> {
  const parsed = schema.safeParse(await c.req.json().catch(() => null))
  return parsed.success ? parsed.data : null
}

export function authRoutes({ tenantry, accessTokens }: ApiDeps): Hono {
  const auth = new Hono()

  /** The access token names the session's user and tenant, which tenantry returns with every token. */
  function tokenPair(issued: IssuedToken) {
    if (!issued.tenantId) throw new Error('sessions of this API are always opened for a tenant')
    return {
      accessToken: accessTokens.sign({ userId: issued.userId, tenantId: issued.tenantId, sessionId: issued.sessionId }),
      refreshToken: issued.token,
      refreshExpiresAt: issued.expiresAt.toISOString(),
    }
  }

  auth.post('/login', async (c) => {
    const input = await body(c, LoginBody)
    if (!input) return apiError(c, 400, 'VALIDATION', 'expected { tenant, email, password }')
    const { ip, userAgent, requestId } = requestInfo(c)
    // Sign-in is cross-tenant by nature: find the tenant and the user in an explicit system scope.
    const system = tenantry.asSystem({ reason: 'login' })
    const tenant = await system.tenants.findOne({ where: { slug: input.tenant, status: 'active' } })
    // E-mail lookups are case-insensitive, like the unique key on lower(email).
    const user = await system.users.findOne({ where: { email: input.email, status: 'active' } })
    const passwordOk = await verifyPassword(input.password, user?.password_hash)
    const member =
      tenant && user && passwordOk ? await system.memberships.exists({ where: { tenant_id: tenant.id, user_id: user.id, status: 'active' } }) : false
    if (!tenant || !user || !member) {
      if (tenant) {
        const scope = tenantry.withContext({ tenantId: tenant.id, ip, userAgent, requestId })
        await scope.auditLog.record({ action: 'auth.login', outcome: 'failure', metadata: { reason: 'bad credentials' } })
      }
      return apiError(c, 401, 'LOGIN_FAILED', 'unknown tenant, user or password')
    }
    const issued = await tenantry.tokens.issue({ userId: user.id, tenantId: tenant.id, ip, userAgent, clientId: 'http-api' })
    await tenantry.withContext({ tenantId: tenant.id, actorId: user.id, ip, userAgent, requestId }).auditLog.record({ action: 'auth.login' })
    return c.json(tokenPair(issued), 201)
  })

  auth.post('/refresh', async (c) => {
    const input = await body(c, TokenBody)
    if (!input) return apiError(c, 400, 'VALIDATION', 'expected { refreshToken }')
    const { ip, userAgent } = requestInfo(c)
    // TOKEN_REUSED here means the token was used before: tenantry has revoked the whole session.
    return c.json(tokenPair(await tenantry.tokens.rotate(input.refreshToken, { ip, userAgent })))
  })

  auth.post('/logout', async (c) => {
    const input = await body(c, TokenBody)
    if (!input) return apiError(c, 400, 'VALIDATION', 'expected { refreshToken }')
    const { ip, userAgent } = requestInfo(c)
    await tenantry.tokens.revoke(input.refreshToken, { ip, userAgent })
    return c.body(null, 204)
  })

  return auth
}
