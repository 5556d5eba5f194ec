/**
 * CRUD on the host's `projects` table. Every handler runs inside the request's unit of work
 * (`c.var.scope` is a transaction scope) and asks RBAC first.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { ApiEnv } from './api-env.js'

const PageQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), after: z.string().max(2000).optional() })
const ImportBody = z.strictObject({ names: z.array(z.string()).min(1).max(100) })

export function projectRoutes(): Hono<ApiEnv> {
  const projects = new Hono<ApiEnv>()

  projects.get('/', async (c) => {
    const scope = c.var.scope
    await scope.require('projects:read')
    const query = PageQuery.parse(c.req.query())
    const page = await scope.repo('projects').page({ orderBy: ['created_at', 'desc'], limit: query.limit, after: query.after ?? null })
    return c.json(page)
  })

  projects.get('/:id', async (c) => {
    await c.var.scope.require('projects:read')
    return c.json(await c.var.scope.repo('projects').getById(c.req.param('id')))
  })

  projects.post('/', async (c) => {
    await c.var.scope.require('projects:write')
    // tenantry validates the body with the table's zod schema (VALIDATION → 400) and fills tenant_id.
    return c.json(await c.var.scope.repo('projects').create(await c.req.json()), 201)
  })

  /** Several projects in one request: all of them, or (on any error) none. */
  projects.post('/import', async (c) => {
    await c.var.scope.require('projects:write')
    const { names } = ImportBody.parse(await c.req.json())
    const repo = c.var.scope.repo('projects')
    const created = []
    for (const name of names) created.push(await repo.create({ name }))
    return c.json({ items: created }, 201)
  })

  projects.patch('/:id', async (c) => {
    await c.var.scope.require('projects:write')
    return c.json(await c.var.scope.repo('projects').update(c.req.param('id'), await c.req.json()))
  })

  projects.delete('/:id', async (c) => {
    await c.var.scope.require('projects:delete')
    await c.var.scope.repo('projects').softDelete(c.req.param('id'))
    return c.body(null, 204)
  })

  projects.post('/:id/restore', async (c) => {
    await c.var.scope.require('projects:delete')
    return c.json(await c.var.scope.repo('projects').restore(c.req.param('id')))
  })

  return projects
}
