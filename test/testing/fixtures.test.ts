import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import type { Tenantry, TenantScope } from '../../src/index.js'
import { createFixtures, type FixtureTenantry, type Fixtures } from '../../src/testing/index.js'
import { createTokenService } from '../../src/tokens/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, makeTenantry, type AppDB } from '../support/host-schema.js'

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantry = makeTenantry(fileDb.pool)
})

/** Removes a fixture set's namespace tag, leaving what the seed alone decided. */
function untagged(fx: Fixtures, value: string): string {
  return value.replace(`-${fx.namespace}`, '').replace(`+${fx.namespace}@`, '@')
}

async function rolesOf(userId: string, tenantId: string): Promise<string[]> {
  const rows = await fileDb.db
    .selectFrom('tenantry.user_roles as ur')
    .innerJoin('tenantry.roles as r', 'r.id', 'ur.role_id')
    .select('r.name')
    .where('ur.user_id', '=', userId)
    .where('ur.tenant_id', '=', tenantId)
    .orderBy('r.name')
    .execute()
  return rows.map((r) => r.name as string)
}

describe('types', () => {
  it('accepts a Tenantry structurally, so the separate tenantry/testing bundle takes instances made by tenantry', () => {
    expectTypeOf<Tenantry<AppDB>>().toExtend<FixtureTenantry<AppDB>>()
    expectTypeOf(createFixtures(tenantry).scope).returns.toEqualTypeOf<TenantScope<AppDB>>()
    expectTypeOf(createFixtures(tenantry).create<'projects'>).returns.resolves.toHaveProperty('slug')
  })
})

describe('determinism', () => {
  it('produces the same names, slugs and emails for the same seed, apart from the namespace tag', async () => {
    const make = async (fx: Fixtures<AppDB>) => {
      const tenant = await fx.tenant()
      const user = await fx.user({ tenant, roles: [{ name: 'admin', permissions: ['*:*'] }] })
      const role = await fx.role({ tenant })
      return { tenant, user, role }
    }
    const a = createFixtures(tenantry, { seed: 'same-seed' })
    const b = createFixtures(tenantry, { seed: 'same-seed' })
    const [first, second] = [await make(a), await make(b)]

    expect(a.namespace).not.toBe(b.namespace)
    expect(second.tenant.name).toBe(first.tenant.name)
    expect(untagged(b, second.tenant.slug)).toBe(untagged(a, first.tenant.slug))
    expect(second.tenant.slug).not.toBe(first.tenant.slug)
    expect(second.user.display_name).toBe(first.user.display_name)
    expect(untagged(b, second.user.email)).toBe(untagged(a, first.user.email))
    expect(second.role.name).toBe(first.role.name)

    const stored = await fileDb.db.selectFrom('tenantry.tenants').select(['name', 'slug']).where('id', 'in', [first.tenant.id, second.tenant.id]).execute()
    expect(new Set(stored.map((t) => t.name)).size).toBe(1)
    expect(new Set(stored.map((t) => t.slug)).size).toBe(2)
  })

  it('gives different values for a different seed', async () => {
    const values = async (seed: string) => {
      const fx = createFixtures(tenantry, { seed })
      const tenants = [await fx.tenant(), await fx.tenant(), await fx.tenant()]
      return tenants.map((t) => t.name).join('|')
    }
    expect(await values('seed-one')).not.toBe(await values('seed-two'))
  })

  it("keeps each kind's values stable when other fixtures are added in between", async () => {
    const plain = createFixtures(tenantry, { seed: 'stable' })
    const busy = createFixtures(tenantry, { seed: 'stable' })
    const quiet = [await plain.tenant(), await plain.tenant()]
    const first = await busy.tenant()
    await busy.user({ tenant: first })
    await busy.role({ tenant: first })
    const secondBusy = await busy.tenant()
    expect([first.name, secondBusy.name]).toEqual(quiet.map((t) => t.name))
  })

  it('with namespace "" uses the generated values exactly, and repeats within a set get -2, -3', async () => {
    const fx = createFixtures(tenantry, { seed: 'crowded', namespace: '' })
    const tenants = []
    for (let i = 0; i < 40; i++) tenants.push(await fx.tenant())
    const slugs = tenants.map((t) => t.slug)
    expect(new Set(slugs).size).toBe(40)
    expect(slugs.some((slug) => /-\d+$/.test(slug))).toBe(true)
    for (const tenant of tenants) expect(tenant.slug.replace(/-\d+$/, '')).toBe(tenant.name.toLowerCase().replace(/ /g, '-'))
  })
})

describe('uniqueness across parallel use', () => {
  it('never collides when fixture sets with the same seed share a database at the same time', async () => {
    const sets = Array.from({ length: 6 }, () => createFixtures(tenantry, { seed: 'parallel' }))
    const made = await Promise.all(
      sets.map(async (fx) => {
        const tenants = await Promise.all([fx.tenant(), fx.tenant(), fx.tenant()])
        const users = await Promise.all(tenants.map((tenant) => fx.user({ tenant })))
        return { tenants, users }
      }),
    )
    const slugs = made.flatMap((m) => m.tenants.map((t) => t.slug))
    const emails = made.flatMap((m) => m.users.map((u) => u.email))
    expect(new Set(slugs).size).toBe(18)
    expect(new Set(emails).size).toBe(18)
    const stored = await fileDb.db.selectFrom('tenantry.tenants').select('id').where('slug', 'in', slugs).execute()
    expect(stored).toHaveLength(18)
  })

  it('refuses a namespace that could break a slug or an email', () => {
    expect(() => createFixtures(tenantry, { namespace: 'Not OK!' })).toThrow(/namespace/)
  })
})

describe('fx.user, fx.membership and fx.role', () => {
  it('creates the user, an active membership and the role assignments', async () => {
    const fx = createFixtures(tenantry, { seed: 'users' })
    const tenant = await fx.tenant()
    const viewer = await fx.role({ tenant, name: 'viewer', permissions: ['projects:read'] })
    const user = await fx.user({ tenant, roles: [viewer, { name: 'operator', permissions: ['devices:*', 'tasks:read'] }] })

    const membership = await fileDb.db.selectFrom('tenantry.memberships').selectAll().where('user_id', '=', user.id).execute()
    expect(membership).toEqual([expect.objectContaining({ tenant_id: tenant.id, status: 'active', deleted_at: null })])
    expect(user.membership?.id).toBe(membership[0]!.id)
    expect(await rolesOf(user.id, tenant.id)).toEqual(['operator', 'viewer'])
    const operator = await fileDb.db
      .selectFrom('tenantry.roles')
      .selectAll()
      .where('tenant_id', '=', tenant.id)
      .where('name', '=', 'operator')
      .executeTakeFirstOrThrow()
    expect(operator.permissions).toEqual(['devices:*', 'tasks:read'])
    expect(user.roles.map((r) => r.name)).toEqual(['viewer', 'operator'])
  })

  it('assigns roles through roles.assign (audited) and can grant a system role', async () => {
    const fx = createFixtures(tenantry, { seed: 'system-roles' })
    const tenant = await fx.tenant()
    const auditor = await fx.role({ tenant: null, permissions: ['audit:read'] })
    expect(auditor.tenant_id).toBeNull()
    expect(auditor.name).toMatch(new RegExp(`-role-${fx.namespace}$`))
    const user = await fx.user({ tenant, roles: [auditor.id] })
    expect(await rolesOf(user.id, tenant.id)).toEqual([auditor.name])
    const audit = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['action', 'tenant_id'])
      .where('action', '=', 'roles.assign')
      .where('tenant_id', '=', tenant.id)
      .execute()
    expect(audit).toHaveLength(1)
    expect(await fx.scope({ tenant, user }).can('audit:read')).toBe(true)
  })

  it('reuses a role named by a string and refuses a name that does not exist', async () => {
    const fx = createFixtures(tenantry, { seed: 'role-names' })
    const tenant = await fx.tenant()
    const admin = await fx.role({ tenant, name: 'admin', permissions: ['*:*'] })
    const user = await fx.user({ tenant, roles: ['admin'] })
    expect(user.roles.map((r) => r.id)).toEqual([admin.id])

    const before = await fileDb.db.selectFrom('tenantry.users').select('id').execute()
    await expect(fx.user({ tenant, roles: ['ghost'] })).rejects.toThrow(/no role named "ghost"/)
    const after = await fileDb.db.selectFrom('tenantry.users').select('id').execute()
    expect(after).toHaveLength(before.length) // the user's transaction rolled back
  })

  it('makes a global user without a membership when no tenant is given, and refuses roles without one', async () => {
    const fx = createFixtures(tenantry, { seed: 'global' })
    const user = await fx.user({ status: 'invited' })
    expect(user.membership).toBeNull()
    const stored = await fileDb.db.selectFrom('tenantry.users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()
    expect(stored).toMatchObject({ status: 'invited', email: user.email })
    await expect(fx.user({ roles: ['admin'] })).rejects.toThrow(/roles need a tenant/)
  })

  it('adds a consultant to a second tenant with roles there', async () => {
    const fx = createFixtures(tenantry, { seed: 'consultant' })
    const [acme, globex] = [await fx.tenant(), await fx.tenant()]
    const consultant = await fx.user({ tenant: acme, roles: [{ name: 'viewer', permissions: ['projects:read'] }] })
    await fx.membership({ user: consultant, tenant: globex, roles: [{ name: 'operator', permissions: ['projects:write'] }] })
    const memberships = await fileDb.db.selectFrom('tenantry.memberships').select('tenant_id').where('user_id', '=', consultant.id).execute()
    expect(memberships.map((m) => m.tenant_id).sort()).toEqual([acme.id, globex.id].sort())
    expect(await rolesOf(consultant.id, acme.id)).toEqual(['viewer'])
    expect(await rolesOf(consultant.id, globex.id)).toEqual(['operator'])
    expect(await fx.scope({ tenant: globex }).users.findById(consultant.id)).toMatchObject({ id: consultant.id })
  })

  it('writes its rows through an audited system scope', async () => {
    const fx = createFixtures(tenantry, { seed: 'audit', reason: 'fixture audit check' })
    const tenant = await fx.tenant()
    const audit = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', tenant.id).execute()
    expect(audit).toEqual([expect.objectContaining({ action: 'tenants.create', outcome: 'success' })])
    expect(JSON.stringify(audit[0]!.metadata)).toContain('fixture audit check')
  })
})

describe('fx.define, fx.create and fx.createMany', () => {
  const projectFixtures = (seed: string) =>
    createFixtures(tenantry, { seed }).define('projects', ({ seq, faker, unique, tenant }) => ({
      name: `${faker.company()} #${seq}`,
      slug: unique(`project-${seq}`),
      budget: faker.int(1, 100) * 1000,
      tags: { tenantSlug: tenant.slug ?? null },
    }))

  it('fills the tenant from the scope and writes an audit row', async () => {
    const fx = projectFixtures('projects')
    const tenant = await fx.tenant()
    const project = await fx.create('projects', { tenant, overrides: { status: 'paused' } })
    const stored = await fileDb.db.selectFrom('projects').selectAll().where('id', '=', project.id).executeTakeFirstOrThrow()
    expect(stored).toMatchObject({ tenant_id: tenant.id, status: 'paused', slug: `project-1-${fx.namespace}`, tags: { tenantSlug: tenant.slug } })
    const audit = await fileDb.db.selectFrom('tenantry.audit_logs').selectAll().where('resource_id', '=', project.id).execute()
    expect(audit).toEqual([expect.objectContaining({ action: 'projects.create', tenant_id: tenant.id, outcome: 'success' })])
  })

  it("validates with the table's zod schema and writes nothing when it fails", async () => {
    const fx = projectFixtures('invalid')
    const tenant = await fx.tenant()
    await expect(fx.create('projects', { tenant, overrides: { status: 'bogus' } })).rejects.toMatchObject({
      code: 'VALIDATION',
      issues: [expect.objectContaining({ path: ['status'] })],
    })
    await expect(fx.create('projects', { tenant, overrides: { slug: 'Not A Slug' } })).rejects.toMatchObject({ code: 'VALIDATION' })
    const count = await fileDb.db
      .selectFrom('projects')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  it('refuses to pick a tenant for you', async () => {
    const fx = projectFixtures('no-tenant')
    await expect(fx.create('projects', undefined as never)).rejects.toThrow(/pass \{ tenant \}/)
  })

  it('creates many rows in one statement, each with its own seq, and per-row overrides', async () => {
    const fx = projectFixtures('many')
    const tenant = await fx.tenant()
    const admin = await fx.user({ tenant })
    const rows = await fx.createMany('projects', 3, { tenant, actor: admin, overrides: (i) => ({ budget: i }) })
    expect(rows.map((r) => r.slug)).toEqual([1, 2, 3].map((n) => `project-${n}-${fx.namespace}`))
    const stored = await fileDb.db.selectFrom('projects').select(['budget', 'tenant_id']).where('tenant_id', '=', tenant.id).orderBy('budget').execute()
    expect(stored).toEqual([0, 1, 2].map((budget) => ({ budget, tenant_id: tenant.id })))
    const audit = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select('actor_user_id')
      .where(
        'resource_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute()
    expect(audit.map((a) => a.actor_user_id)).toEqual([admin.id, admin.id, admin.id])
  })

  it('creates rows of a table without a factory from overrides alone', async () => {
    const fx = createFixtures(tenantry, { seed: 'notes' })
    const tenant = await fx.tenant()
    const note = await fx.create('notes', { tenant, overrides: { body: 'hello' } })
    expect(note).toMatchObject({ tenant_id: tenant.id, body: 'hello' })
  })

  it('builds the same rows for the same seed', async () => {
    const [a, b] = [projectFixtures('rows'), projectFixtures('rows')]
    const [ta, tb] = [await a.tenant(), await b.tenant()]
    const [ra, rb] = [await a.createMany('projects', 4, { tenant: ta }), await b.createMany('projects', 4, { tenant: tb })]
    expect(rb.map((r) => [r.name, r.budget])).toEqual(ra.map((r) => [r.name, r.budget]))
  })
})

describe('fx.session', () => {
  it('issues a real refresh token for the user in the tenant', async () => {
    const tokens = createTokenService({ db: tenantry.kysely, schema: 'tenantry' })
    const fx = createFixtures(tenantry, { seed: 'sessions', tokens })
    const tenant = await fx.tenant()
    const user = await fx.user({ tenant })
    const session = await fx.session({ user, tenant, clientId: 'web' })
    expect(session.token).toMatch(/^rt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    const stored = await fileDb.db.selectFrom('tenantry.sessions').selectAll().where('id', '=', session.sessionId).executeTakeFirstOrThrow()
    expect(stored).toMatchObject({ user_id: user.id, tenant_id: tenant.id, client_id: 'web' })
    const rotated = await tokens.rotate(session.token)
    expect(rotated.sessionId).toBe(session.sessionId)
  })

  it('hands out a token the tenantry rotates, and a replayed one is reuse (the docs example)', async () => {
    const fx = createFixtures(tenantry, { seed: 'docs-session' })
    const acme = await fx.tenant()
    const user = await fx.user({ tenant: acme, roles: [{ name: 'viewer', permissions: ['*:read'] }] })
    const { token, sessionId } = await fx.session({ user, tenant: acme, clientId: 'web' })
    const next = await tenantry.tokens.rotate(token)
    expect(next.sessionId).toBe(sessionId)
    await expect(tenantry.tokens.rotate(token)).rejects.toMatchObject({ code: 'TOKEN_REUSED' })
    const stored = await fileDb.db.selectFrom('tenantry.sessions').select('revoked_at').where('id', '=', sessionId).executeTakeFirstOrThrow()
    expect(stored.revoked_at).toBeInstanceOf(Date)
  })

  it('uses tenantry.tokens by default, and says what to configure when there is none', async () => {
    const fx = createFixtures(tenantry, { seed: 'default-tokens' })
    const tenant = await fx.tenant()
    const user = await fx.user({ tenant })
    if ((tenantry as unknown as { tokens?: unknown }).tokens === undefined) {
      await expect(fx.session({ user, tenant })).rejects.toThrow(/createTenantry\(\{ tokens \}\)/)
    } else {
      const session = await fx.session({ user, tenant })
      const stored = await fileDb.db.selectFrom('tenantry.sessions').selectAll().where('id', '=', session.sessionId).executeTakeFirstOrThrow()
      expect(stored).toMatchObject({ user_id: user.id, tenant_id: tenant.id })
    }
  })
})

describe('default roles of fx.tenant()', () => {
  async function roleNames(tenantId: string): Promise<Record<string, string[]>> {
    const rows = await fileDb.db
      .selectFrom('tenantry.roles')
      .select(['name', 'permissions'])
      .where('tenant_id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .orderBy('name')
      .execute()
    return Object.fromEntries(rows.map((r) => [r.name as string, r.permissions as string[]]))
  }

  it("seeds admin and viewer, so fx.user({ tenant, roles: ['admin'] }) works", async () => {
    const fx = createFixtures(tenantry, { seed: 'default-roles' })
    const tenant = await fx.tenant()
    expect(await roleNames(tenant.id)).toEqual({ admin: ['*:*'], viewer: ['*:read'] })
    const admin = await fx.user({ tenant, roles: ['admin'] })
    expect(await rolesOf(admin.id, tenant.id)).toEqual(['admin'])
    expect(await tenantry.withContext({ tenantId: tenant.id, actorId: admin.id }).can('projects:write')).toBe(true)
    const seeded = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select('action')
      .where('tenant_id', '=', tenant.id)
      .where('action', '=', 'roles.create')
      .execute()
    expect(seeded).toHaveLength(2)
  })

  it('takes other default roles, or none', async () => {
    const custom = await createFixtures(tenantry, { defaultRoles: { owner: ['*:*'] } }).tenant()
    expect(await roleNames(custom.id)).toEqual({ owner: ['*:*'] })
    const bare = await createFixtures(tenantry, { defaultRoles: false }).tenant()
    expect(await roleNames(bare.id)).toEqual({})
  })

  it('reuses a default role that fx.role names, with the permissions asked for', async () => {
    const fx = createFixtures(tenantry, { seed: 'default-role-reuse' })
    const tenant = await fx.tenant()
    const viewer = await fx.role({ tenant, name: 'viewer', permissions: ['projects:read'] })
    expect((await roleNames(tenant.id)).viewer).toEqual(['projects:read'])
    expect(viewer.permissions).toEqual(['projects:read'])
  })
})
