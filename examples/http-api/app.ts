/**
 * The example API: a Hono app over one tenantry instance.
 *
 * | route | what |
 * | --- | --- |
 * | `POST /auth/login` `{ tenant, email, password }` | `{ accessToken, refreshToken, refreshExpiresAt }` |
 * | `POST /auth/refresh` `{ refreshToken }` | a new pair; the old refresh token is spent |
 * | `POST /auth/logout` `{ refreshToken }` | revokes the session |
 * | `GET/POST /api/projects`, `GET/PATCH/DELETE /api/projects/:id`, `POST /api/projects/:id/restore` | CRUD, one unit of work per request |
 * | `POST /api/projects/import` `{ names }` | several creates in one transaction: all or none |
 * | `GET /api/audit` | the tenant's audit trail (needs `audit:read`) |
 */
import { Hono } from 'hono'
import type { ApiDeps, ApiEnv } from './api-env.js'
import { authRoutes } from './auth-routes.js'
import { apiError, errorResponse } from './error-response.js'
import { projectRoutes } from './project-routes.js'
import { unitOfWork } from './unit-of-work.js'

export function createApp(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>()
  app.get('/health', (c) => c.json({ ok: true }))
  app.route('/auth', authRoutes(deps))
  app.use('/api/*', unitOfWork(deps))
  app.route('/api/projects', projectRoutes())
  app.get('/api/audit', async (c) => {
    await c.var.scope.require('audit:read')
    const resourceType = c.req.query('resourceType')
    return c.json(await c.var.scope.auditLog.list({ limit: 50, ...(resourceType ? { resourceType } : {}), after: c.req.query('after') ?? null }))
  })
  app.notFound((c) => apiError(c, 404, 'NOT_FOUND', 'no such route'))
  app.onError((error, c) => errorResponse(c, error))
  return app
}
