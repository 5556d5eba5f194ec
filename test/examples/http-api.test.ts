import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccessTokens } from '../../examples/http-api/access-token.js'
import { apiTables, createApiTables, type ApiDB } from '../../examples/http-api/api-schema.js'
import { createApp } from '../../examples/http-api/app.js'
import { DEMO_PASSWORD, seedApiData, type SeededApiData } from '../../examples/http-api/seed-api-data.js'
import { createTenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'

const file = await useFileDatabase()
let server: ServerType
let base: string
let seeded: SeededApiData

beforeAll(async () => {
  await createApiTables(file.db, { schema: 'tenantry', hostSchema: 'public' })
  const tenantry = createTenantry<ApiDB>({ pool: file.pool, tables: apiTables('public'), tokens: { keys: { k1: randomBytes(32) } } })
  seeded = await seedApiData(tenantry)
  const app = createApp({ tenantry, accessTokens: createAccessTokens(randomBytes(32)) })
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

interface Reply {
  status: number
  body: any
}

async function call(method: string, path: string, options: { token?: string; body?: unknown; requestId?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'vitest' }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.requestId) headers['x-request-id'] = options.requestId
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : null }
}

async function login(email: string, tenant: string): Promise<{ accessToken: string; refreshToken: string }> {
  const reply = await call('POST', '/auth/login', { body: { tenant, email, password: DEMO_PASSWORD } })
  expect(reply.status).toBe(201)
  return reply.body
}

const projectsOf = (tenantId: string) => file.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantId).execute()

describe('the example HTTP API', () => {
  it('logs in with a password and opens a session for the tenant', async () => {
    // Typed with other capitals than the stored address: e-mail lookups are case-insensitive.
    const { accessToken, refreshToken } = await login('Ada@ACME.test', 'acme')
    expect(accessToken).toMatch(/^at_/)
    expect(refreshToken).toMatch(/^rt_/)
    const sessions = await file.db.withSchema('tenantry').selectFrom('sessions').selectAll().where('user_id', '=', seeded.users.ada).execute()
    expect(sessions.some((s) => s.tenant_id === seeded.tenants.acme && s.revoked_at === null && s.client_id === 'http-api')).toBe(true)
  })

  it('refuses a wrong password without opening a session, and audits the attempt', async () => {
    const reply = await call('POST', '/auth/login', { body: { tenant: 'acme', email: 'ben@acme.test', password: 'wrong' } })
    expect(reply).toMatchObject({ status: 401, body: { code: 'LOGIN_FAILED' } })
    const sessions = await file.db.withSchema('tenantry').selectFrom('sessions').select('id').where('user_id', '=', seeded.users.ben).execute()
    expect(sessions).toHaveLength(0)
    const audit = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .selectAll()
      .where('action', '=', 'auth.login')
      .where('outcome', '=', 'failure')
      .execute()
    expect(audit.map((a) => a.tenant_id)).toContain(seeded.tenants.acme)
  })

  it('refuses a request without a valid bearer token', async () => {
    expect(await call('GET', '/api/projects')).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } })
    expect(await call('GET', '/api/projects', { token: 'at_forged.signature' })).toMatchObject({ status: 401 })
  })

  it("creates a project in the caller's tenant with an audit row carrying the request id", async () => {
    const { accessToken } = await login('ada@acme.test', 'acme')
    const reply = await call('POST', '/api/projects', { token: accessToken, body: { name: 'Apollo' }, requestId: 'req-create-apollo' })
    expect(reply).toMatchObject({ status: 201, body: { name: 'Apollo', tenant_id: seeded.tenants.acme } })
    const rows = await projectsOf(seeded.tenants.acme)
    expect(rows.map((r) => r.name)).toContain('Apollo')
    const audit = await file.db.withSchema('tenantry').selectFrom('audit_logs').selectAll().where('resource_id', '=', reply.body.id).execute()
    expect(audit).toMatchObject([
      { action: 'projects.create', outcome: 'success', actor_user_id: seeded.users.ada, request_id: 'req-create-apollo', ip: '127.0.0.1' },
    ])
    const listed = await call('GET', '/api/projects?limit=10', { token: accessToken })
    expect(listed.body.items.map((p: { name: string }) => p.name)).toContain('Apollo')
  })

  it('refuses input naming another tenant (audited as denied) or an empty name', async () => {
    const { accessToken } = await login('ada@acme.test', 'acme')
    const before = await projectsOf(seeded.tenants.globex)
    const reply = await call('POST', '/api/projects', { token: accessToken, body: { name: 'Sneaky', tenant_id: seeded.tenants.globex } })
    expect(reply).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
    expect(await call('POST', '/api/projects', { token: accessToken, body: { name: ' ' } })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    expect(await projectsOf(seeded.tenants.globex)).toEqual(before)
    const denied = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .selectAll()
      .where('action', '=', 'projects.create')
      .where('outcome', '=', 'denied')
      .execute()
    expect(denied).toMatchObject([{ tenant_id: seeded.tenants.acme, actor_user_id: seeded.users.ada, error_code: 'FORBIDDEN' }])
  })

  it("answers another tenant's project as missing, leaves it untouched and audits the write as denied", async () => {
    const ada = await login('ada@acme.test', 'acme')
    const gus = await login('gus@globex.test', 'globex')
    const created = await call('POST', '/api/projects', { token: ada.accessToken, body: { name: 'Ares' } })
    const id = created.body.id as string
    expect(await call('GET', `/api/projects/${id}`, { token: gus.accessToken })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } })
    expect(await call('PATCH', `/api/projects/${id}`, { token: gus.accessToken, body: { name: 'Mine' } })).toMatchObject({ status: 404 })
    const row = await file.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
    expect(row.name).toBe('Ares')
    const denied = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .selectAll()
      .where('action', '=', 'projects.update')
      .where('outcome', '=', 'denied')
      .execute()
    expect(denied).toMatchObject([{ tenant_id: seeded.tenants.globex, actor_user_id: seeded.users.gus, error_code: 'NOT_FOUND' }])
  })

  it('lets a viewer read but not write, and audits the refusal', async () => {
    const ben = await login('ben@acme.test', 'acme')
    const before = await projectsOf(seeded.tenants.acme)
    expect(await call('GET', '/api/projects', { token: ben.accessToken })).toMatchObject({ status: 200 })
    expect(await call('POST', '/api/projects', { token: ben.accessToken, body: { name: 'Nope' } })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
    expect(await projectsOf(seeded.tenants.acme)).toHaveLength(before.length)
    const refusals = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .selectAll()
      .where('action', '=', 'rbac.require')
      .where('actor_user_id', '=', seeded.users.ben)
      .execute()
    expect(refusals).toMatchObject([{ outcome: 'denied', resource_id: 'projects:write' }])
  })

  it('runs a request in one transaction: a failing import writes none of its projects', async () => {
    const { accessToken } = await login('ada@acme.test', 'acme')
    await call('POST', '/api/projects', { token: accessToken, body: { name: 'Zeus' } })
    const before = await projectsOf(seeded.tenants.acme)
    const reply = await call('POST', '/api/projects/import', { token: accessToken, body: { names: ['Hera', 'Hermes', 'zeus'] } })
    expect(reply).toMatchObject({ status: 409, body: { code: 'UNIQUE_VIOLATION', constraint: 'projects_tenant_name_live_key' } })
    expect(await projectsOf(seeded.tenants.acme)).toHaveLength(before.length)
    const audit = await file.db
      .withSchema('tenantry')
      .selectFrom('audit_logs')
      .select(['outcome', 'new_values'])
      .where('action', '=', 'projects.create')
      .execute()
    expect(audit.filter((a) => a.outcome === 'success' && ['Hera', 'Hermes'].includes((a.new_values as { name?: string } | null)?.name ?? ''))).toEqual([])
    expect(audit.some((a) => a.outcome === 'failure')).toBe(true)
    const ok = await call('POST', '/api/projects/import', { token: accessToken, body: { names: ['Hera', 'Hermes'] } })
    expect(ok.status).toBe(201)
    expect(await projectsOf(seeded.tenants.acme)).toHaveLength(before.length + 2)
  })

  it('soft-deletes and restores a project', async () => {
    const { accessToken } = await login('ada@acme.test', 'acme')
    const { body: project } = await call('POST', '/api/projects', { token: accessToken, body: { name: 'Vulcan' } })
    expect((await call('DELETE', `/api/projects/${project.id}`, { token: accessToken })).status).toBe(204)
    const deleted = await file.db.selectFrom('projects').select('deleted_at').where('id', '=', project.id).executeTakeFirstOrThrow()
    expect(deleted.deleted_at).toBeInstanceOf(Date)
    expect((await call('GET', `/api/projects/${project.id}`, { token: accessToken })).status).toBe(404)
    expect(await call('POST', `/api/projects/${project.id}/restore`, { token: accessToken })).toMatchObject({ status: 200, body: { deleted_at: null } })
    const restored = await file.db.selectFrom('projects').select('deleted_at').where('id', '=', project.id).executeTakeFirstOrThrow()
    expect(restored.deleted_at).toBeNull()
  })

  it('rotates the refresh token, answers a retry with the same successor, and revokes the session on a replay', async () => {
    const first = await login('gus@globex.test', 'globex')
    const second = await call('POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } })
    expect(second.status).toBe(200)
    expect(second.body.refreshToken).not.toBe(first.refreshToken)
    const retry = await call('POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } })
    expect(retry.body.refreshToken).toBe(second.body.refreshToken)
    expect((await call('GET', '/api/projects', { token: second.body.accessToken })).status).toBe(200)
    const third = await call('POST', '/auth/refresh', { body: { refreshToken: second.body.refreshToken } })
    expect(third.status).toBe(200)
    expect(await call('POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } })).toMatchObject({ status: 401, body: { code: 'TOKEN_REUSED' } })
    expect(await call('POST', '/auth/refresh', { body: { refreshToken: third.body.refreshToken } })).toMatchObject({
      status: 401,
      body: { code: 'TOKEN_REVOKED' },
    })
    const session = await file.db
      .withSchema('tenantry')
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', seeded.users.gus)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow()
    expect(session.revoked_reason).toBe('reuse_detected')
  })

  it('logs out: the session is revoked and its token no longer refreshes', async () => {
    const { refreshToken } = await login('ben@acme.test', 'acme')
    expect((await call('POST', '/auth/logout', { body: { refreshToken } })).status).toBe(204)
    expect(await call('POST', '/auth/refresh', { body: { refreshToken } })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
    const latest = await file.db
      .withSchema('tenantry')
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', seeded.users.ben)
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow()
    expect(latest.revoked_reason).toBe('logout')
  })
})
