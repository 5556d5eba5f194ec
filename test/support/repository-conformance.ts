import { sql, type Kysely } from 'kysely'
import { beforeAll, expect, it } from 'vitest'
import { isTenantryError } from '../../src/index.js'

/** A tenant's `projects` repository (name, status, integer-valued budget, soft delete) and the database under it. */
export interface ConformanceTarget {
  repo(): any
  db: Kysely<any>
}

/**
 * The repository cases every deployment must pass, registered in the calling `describe`: the same
 * cases on one node (`test/repository/conformance.test.ts`) and on a Citus cluster over
 * connections that refuse multi-shard work (`test/citus/audited-writes.test.ts`). Each asserts on
 * the rows and audit rows in the database.
 *
 * @example
 * describe('on one node', () => repositoryConformance(() => ({ repo: () => scope.repo('projects'), db })))
 */
export function repositoryConformance(target: () => ConformanceTarget): void {
  beforeAll(async () => {
    await target()
      .repo()
      .createMany([
        { name: 'p1', budget: 10 },
        { name: 'p2', budget: 20, status: 'paused' },
        { name: 'p3', budget: 30 },
      ])
  })

  it('create, find, page, count, aggregate', async () => {
    const { repo } = target()
    const created = await repo().create({ name: 'p4', budget: 40 })
    expect((await repo().findById(created.id))?.name).toBe('p4')
    expect((await repo().findMany({ where: { status: 'active' }, orderBy: ['name', 'asc'] })).map((p: { name: string }) => p.name)).toEqual(['p1', 'p3', 'p4'])
    const first = await repo().page({ limit: 3, orderBy: ['name', 'asc'] })
    const second = await repo().page({ limit: 3, orderBy: ['name', 'asc'], after: first.nextCursor })
    expect([...first.items, ...second.items].map((p: { name: string }) => p.name)).toEqual(['p1', 'p2', 'p3', 'p4'])
    expect(second.nextCursor).toBeNull()
    expect(await repo().count({ where: { status: 'paused' } })).toBe(1)
    const byStatus = (await repo().aggregate({ groupBy: 'status', count: true, sum: ['budget'] })) as {
      status: string
      count: number
      sum: { budget: unknown }
    }[]
    expect(byStatus.map((r) => [r.status, r.count, Number(r.sum.budget)]).sort()).toEqual([
      ['active', 3, 80],
      ['paused', 1, 20],
    ])
  })

  it('update, soft delete, restore and purge, with the views that follow them and one audit row each', async () => {
    const { repo, db } = target()
    const [p1] = await repo().findMany({ where: { name: 'p1' } })
    await repo().update(p1.id, { name: 'p1 renamed' }, { expectedUpdatedAt: p1.updated_at })
    const stale = await repo()
      .update(p1.id, { name: 'again' }, { expectedUpdatedAt: p1.updated_at })
      .catch((e: unknown) => e)
    expect(isTenantryError(stale) && stale.code).toBe('CONFLICT')
    await repo().softDelete(p1.id)
    expect(await repo().findById(p1.id)).toBeNull()
    expect(await repo().onlyDeleted().count()).toBe(1)
    expect((await repo().withDeleted().findById(p1.id))?.name).toBe('p1 renamed')
    await repo().restore(p1.id)
    expect(await repo().onlyDeleted().count()).toBe(0)
    await repo().purge(p1.id)
    expect((await sql<{ n: number }>`select count(*)::int as n from public.projects where id = ${p1.id}`.execute(db)).rows[0]!.n).toBe(0)
    const actions = (
      await sql<{ action: string }>`select action from tenantry.audit_logs where resource_id = ${p1.id} and outcome = 'success' order by created_at`.execute(db)
    ).rows.map((r) => r.action)
    expect(actions).toEqual(['projects.create', 'projects.update', 'projects.softDelete', 'projects.restore', 'projects.purge'])
  })
}
