import type { Generated } from 'kysely'
import { describe, expectTypeOf, it } from 'vitest'
import { createTenantry, defineTable } from '../../src/index.js'
import { createFixtures, type FixtureUser } from '../../src/testing/index.js'

interface HostDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<'active' | 'paused' | 'archived'>
    tier: 'free' | 'pro' | null
  }
}

declare const pool: import('pg').Pool
const tables = { projects: defineTable<HostDB, 'projects'>({ table: 'projects' }) }
const fx = createFixtures(createTenantry<HostDB, typeof tables>({ pool, tables }))

describe('fixture inputs keep literal types', () => {
  it('takes literal unions from factories and overrides without `as const`', async () => {
    fx.define('projects', ({ seq }) => ({ name: `p${seq}`, status: seq % 2 ? 'active' : 'paused', tier: 'pro' }))
    const tenant = await fx.tenant({ status: 'pending', type: 'trial' })
    const project = await fx.create('projects', { tenant, overrides: { status: 'archived', tier: null } })
    expectTypeOf(project.status).toEqualTypeOf<'active' | 'paused' | 'archived'>()
    await fx.createMany('projects', 2, { tenant, overrides: (i) => ({ tier: i === 0 ? 'free' : 'pro' }) })
    const user = await fx.user({ tenant, roles: ['admin', { name: 'ops', permissions: ['projects:*'] }], membershipStatus: 'invited' })
    expectTypeOf(user).toEqualTypeOf<FixtureUser>()
    // Permission lists a host keeps `as const` are accepted as they are.
    const OPS = ['projects:*', 'devices:read'] as const
    await fx.role({ tenant, name: 'ops', permissions: OPS })
    await fx.user({ tenant, roles: [{ name: 'ops', permissions: OPS }] as const })
    // @ts-expect-error: not a status of the column
    await fx.create('projects', { tenant, overrides: { status: 'deleted' } })
    // @ts-expect-error: not a tenant status
    await fx.tenant({ status: 'closed' })
  })

  it('keeps the repository types of the scope it hands out', () => {
    const scope = fx.scope({ tenant: '00000000-0000-4000-8000-000000000000' })
    type Found = NonNullable<Awaited<ReturnType<ReturnType<typeof scope.repo<'projects'>>['findById']>>>
    expectTypeOf<Found['tier']>().toEqualTypeOf<'free' | 'pro' | null>()
  })
})
