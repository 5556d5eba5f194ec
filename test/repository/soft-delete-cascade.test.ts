import { sql } from 'kysely'
import type pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, TenantryError } from '../../src/index.js'
import { createAppRole } from '../isolation/support/app-role.js'
import { useFileDatabase, type RoundTripCounter } from '../support/test-database.js'
import { createHostTables, insertTenant } from '../support/host-schema.js'
import { createReferenceTables, referenceTables, referenceTenantry, type RefDB } from './support/reference-tables.js'

/**
 * Soft deletes that follow declared references (`onSoftDelete`): `'restrict'` (the default) refuses
 * to soft-delete a row that live rows still reference; `'cascade'` soft-deletes them with it (one
 * audit row each) and `restore` brings back exactly those. Both isolation modes.
 */

const fileDb = await useFileDatabase()
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createReferenceTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'cascade-a')
  tenantB = await insertTenant(fileDb.db, 'cascade-b')
})

const cascadeTables = () =>
  referenceTables({
    deployments: { references: { project_id: { table: 'projects', onSoftDelete: 'cascade' }, previous_id: { table: 'deployments', onSoftDelete: 'ignore' } } },
    builds: { references: { deployment_id: { table: 'deployments', onSoftDelete: 'cascade' } } },
  })

async function failure(promise: Promise<unknown>): Promise<TenantryError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'the write should have been refused').toBeInstanceOf(TenantryError)
  return error as TenantryError
}

async function deletedAt(table: 'projects' | 'deployments' | 'builds', id: string): Promise<string | null> {
  const { rows } = await sql<{ deleted_at: string | null }>`select deleted_at::text as deleted_at from ${sql.table(table)} where id = ${id}`.execute(fileDb.db)
  return rows[0]!.deleted_at
}

async function audits(action: string, ids: string[]) {
  return fileDb.db
    .selectFrom('tenantry.audit_logs')
    .select(['resource_id', 'outcome', 'metadata', 'tenant_id'])
    .where('action', '=', action)
    .where('resource_id', 'in', ids)
    .orderBy('resource_id')
    .execute()
}

function suite(mode: 'query' | 'rls', setup: () => { pool: pg.Pool; trips: RoundTripCounter }) {
  let pool: pg.Pool
  let trips: RoundTripCounter
  let restrict: ReturnType<typeof referenceTenantry>
  let cascade: ReturnType<typeof referenceTenantry>
  beforeAll(async () => {
    ;({ pool, trips } = setup())
    restrict = referenceTenantry(pool, mode)
    cascade = referenceTenantry(pool, mode, cascadeTables())
    await restrict.ready()
    await cascade.ready()
  })

  /** A project of tenant A with `count` deployments, each with one build. */
  async function tree(app: ReturnType<typeof referenceTenantry>, name: string, count = 2) {
    const scope = app.withContext({ tenantId: tenantA })
    const project = await scope.repo('projects').create({ name: `${mode}-${name}` })
    const deployments = await scope
      .repo('deployments')
      .createMany(Array.from({ length: count }, (_, i) => ({ name: `${mode}-${name}-${i}`, project_id: project.id })))
    const builds = await scope.repo('builds').createMany(deployments.map((d) => ({ label: `${d.name}-build`, deployment_id: d.id })))
    return { scope, project, deployments, builds }
  }

  describe("onSoftDelete: 'restrict' (the default)", () => {
    it('refuses softDelete of a project with live deployments with CONFLICT naming the referencing table and column', async () => {
      const { scope, project, deployments } = await tree(restrict, 'restrict-one', 1)
      const error = await failure(scope.repo('projects').softDelete(project.id))
      expect(error).toMatchObject({ code: 'CONFLICT', table: 'deployments', column: 'project_id', operation: 'projects.softDelete' })
      expect(error.message).toContain('"deployments"')
      expect(error.message).toContain('"project_id"')
      expect(await deletedAt('projects', project.id)).toBeNull()
      expect(await deletedAt('deployments', deployments[0]!.id)).toBeNull()
      expect(await audits('projects.softDelete', [project.id])).toEqual([expect.objectContaining({ outcome: 'failure' })])
    })

    it('refuses softDeleteMany when any matched project has live deployments, deleting none', async () => {
      const free = await restrict
        .withContext({ tenantId: tenantA })
        .repo('projects')
        .create({ name: `${mode}-restrict-many-free` })
      const { scope, project } = await tree(restrict, 'restrict-many', 1)
      const error = await failure(scope.repo('projects').softDeleteMany({ id: [free.id, project.id] }))
      expect(error).toMatchObject({ code: 'CONFLICT', table: 'deployments', operation: 'projects.softDeleteMany' })
      expect(await deletedAt('projects', free.id)).toBeNull()
      expect(await deletedAt('projects', project.id)).toBeNull()
    })

    it('soft-deletes once the children are soft-deleted, in one round trip', async () => {
      const { scope, project, deployments, builds } = await tree(restrict, 'restrict-clear', 1)
      await scope.repo('builds').softDelete(builds[0]!.id)
      await scope.repo('deployments').softDelete(deployments[0]!.id)
      const count = await trips.measure(() => scope.repo('projects').softDelete(project.id))
      if (mode === 'query') expect(count).toBe(1)
      expect(await deletedAt('projects', project.id)).not.toBeNull()
    })

    it('ignores another tenant’s rows that point at the project behind tenantry’s back', async () => {
      const { scope, project, deployments, builds } = await tree(restrict, 'restrict-foreign', 1)
      await scope.repo('builds').softDelete(builds[0]!.id)
      await scope.repo('deployments').softDelete(deployments[0]!.id)
      await sql`insert into deployments (tenant_id, project_id, name) values (${tenantB}, ${project.id}, 'planted')`.execute(fileDb.db)
      await scope.repo('projects').softDelete(project.id)
      expect(await deletedAt('projects', project.id)).not.toBeNull()
    })

    it('counts a self-reference soft-deleted in the same statement as gone', async () => {
      const tables = referenceTables({ deployments: { references: { project_id: 'projects', previous_id: 'deployments' } } })
      const app = referenceTenantry(pool, mode, tables)
      const scope = app.withContext({ tenantId: tenantA })
      const project = await scope.repo('projects').create({ name: `${mode}-self` })
      const first = await scope.repo('deployments').create({ name: `${mode}-self-1`, project_id: project.id })
      const second = await scope.repo('deployments').create({ name: `${mode}-self-2`, project_id: project.id, previous_id: first.id })
      const error = await failure(scope.repo('deployments').softDelete(first.id))
      expect(error).toMatchObject({ code: 'CONFLICT', table: 'deployments', column: 'previous_id' })
      expect(await scope.repo('deployments').softDeleteMany({ id: [first.id, second.id] })).toEqual({ count: 2 })
      expect(await deletedAt('deployments', first.id)).not.toBeNull()
    })

    it('refuses to restore a deployment whose project is soft-deleted (FOREIGN_KEY_VIOLATION)', async () => {
      const { scope, project, deployments, builds } = await tree(restrict, 'restrict-restore', 1)
      await scope.repo('builds').softDelete(builds[0]!.id)
      await scope.repo('deployments').softDelete(deployments[0]!.id)
      await scope.repo('projects').softDelete(project.id)
      const error = await failure(scope.repo('deployments').restore(deployments[0]!.id))
      expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id' })
      expect(await deletedAt('deployments', deployments[0]!.id)).not.toBeNull()
      await expect(scope.repo('deployments').create({ name: 'under-deleted', project_id: project.id })).rejects.toMatchObject({
        code: 'FOREIGN_KEY_VIOLATION',
      })
    })
  })

  describe("onSoftDelete: 'cascade'", () => {
    it('soft-deletes the live deployments and their builds with the project, one audit row each', async () => {
      const { scope, project, deployments, builds } = await tree(cascade, 'cascade', 3)
      await scope.repo('builds').softDelete(builds[2]!.id)
      await scope.repo('deployments').softDelete(deployments[2]!.id)
      const earlier = await deletedAt('deployments', deployments[2]!.id)
      await scope.repo('projects').softDelete(project.id)

      const stamp = await deletedAt('projects', project.id)
      expect(stamp).not.toBeNull()
      for (const row of [...deployments.slice(0, 2)]) expect(await deletedAt('deployments', row.id)).toBe(stamp)
      for (const row of [...builds.slice(0, 2)]) expect(await deletedAt('builds', row.id)).toBe(stamp)
      expect(await deletedAt('deployments', deployments[2]!.id)).toBe(earlier)

      const cascaded = await audits(
        'deployments.softDelete',
        deployments.map((d) => d.id),
      )
      // Two by the cascade, one by the direct soft delete before.
      expect(cascaded).toHaveLength(3)
      const byCascade = cascaded.filter((a) => (a.metadata as Record<string, unknown>).cascade !== undefined)
      expect(byCascade.map((a) => a.resource_id).sort()).toEqual(
        deployments
          .slice(0, 2)
          .map((d) => d.id)
          .sort(),
      )
      expect(byCascade.every((a) => a.outcome === 'success' && a.tenant_id === tenantA)).toBe(true)
      expect(byCascade[0]!.metadata).toMatchObject({ cascade: { from: 'projects', column: 'project_id' } })
      const buildAudits = await audits(
        'builds.softDelete',
        builds.slice(0, 2).map((b) => b.id),
      )
      expect(buildAudits.map((a) => (a.metadata as { cascade?: unknown }).cascade)).toEqual([
        { from: 'deployments', column: 'deployment_id' },
        { from: 'deployments', column: 'deployment_id' },
      ])
    })

    it('restores exactly the rows the cascade deleted, not the ones deleted before', async () => {
      const { scope, project, deployments, builds } = await tree(cascade, 'cascade-restore', 3)
      await scope.repo('builds').softDelete(builds[2]!.id)
      await scope.repo('deployments').softDelete(deployments[2]!.id)
      await scope.repo('builds').softDelete(builds[1]!.id)
      await scope.repo('projects').softDelete(project.id)
      await scope.repo('projects').restore(project.id)

      expect(await deletedAt('projects', project.id)).toBeNull()
      expect(await deletedAt('deployments', deployments[0]!.id)).toBeNull()
      expect(await deletedAt('deployments', deployments[1]!.id)).toBeNull()
      expect(await deletedAt('builds', builds[0]!.id)).toBeNull()
      expect(await deletedAt('deployments', deployments[2]!.id)).not.toBeNull()
      expect(await deletedAt('builds', builds[1]!.id)).not.toBeNull()
      expect(await deletedAt('builds', builds[2]!.id)).not.toBeNull()
      const restored = await audits(
        'deployments.restore',
        deployments.map((d) => d.id),
      )
      expect(restored.map((a) => a.resource_id).sort()).toEqual(
        deployments
          .slice(0, 2)
          .map((d) => d.id)
          .sort(),
      )
      expect(restored[0]!.metadata).toMatchObject({ cascade: { from: 'projects', column: 'project_id' } })
    })

    it('cascades softDeleteMany inside scope.transaction, and rolls back with it', async () => {
      const first = await tree(cascade, 'cascade-many-1', 1)
      const second = await tree(cascade, 'cascade-many-2', 1)
      const ids = [first.project.id, second.project.id]
      const error = await failure(
        first.scope.transaction(async (tx) => {
          expect(await tx.repo('projects').softDeleteMany({ id: ids })).toEqual({ count: 2 })
          expect(await tx.repo('deployments').count({ where: { project_id: ids } })).toBe(0)
          throw new TenantryError('CONFLICT', 'changed my mind')
        }),
      )
      expect(error.message).toBe('changed my mind')
      expect(await deletedAt('deployments', first.deployments[0]!.id)).toBeNull()
      await first.scope.transaction((tx) => tx.repo('projects').softDeleteMany({ id: ids }))
      expect(await deletedAt('deployments', first.deployments[0]!.id)).not.toBeNull()
      expect(await deletedAt('builds', second.builds[0]!.id)).not.toBeNull()
    })

    it('cascades from a system scope to the rows of the project’s own tenant only, and restores them', async () => {
      const { project, deployments } = await tree(cascade, 'cascade-system', 1)
      const { rows } = await sql<{ id: string }>`insert into deployments (tenant_id, project_id, name)
        values (${tenantB}, ${project.id}, 'planted-system') returning id`.execute(fileDb.db)
      const system = cascade.asSystem({ reason: 'cascade test' }).repo('projects')
      await system.softDelete(project.id)
      expect(await deletedAt('deployments', deployments[0]!.id)).toBe(await deletedAt('projects', project.id))
      expect(await deletedAt('deployments', rows[0]!.id)).toBeNull()
      await system.restore(project.id)
      expect(await deletedAt('deployments', deployments[0]!.id)).toBeNull()
      const audit = await audits('deployments.softDelete', [deployments[0]!.id])
      expect(audit[0]!.metadata).toMatchObject({ system: true, reason: 'cascade test', cascade: { from: 'projects' } })
    })

    it('leaves another tenant’s rows that point at the project alone', async () => {
      const { scope, project } = await tree(cascade, 'cascade-foreign', 1)
      const { rows } = await sql<{ id: string }>`insert into deployments (tenant_id, project_id, name)
        values (${tenantB}, ${project.id}, 'planted') returning id`.execute(fileDb.db)
      await scope.repo('projects').softDelete(project.id)
      expect(await deletedAt('deployments', rows[0]!.id)).toBeNull()
    })

    it('hands the cascaded rows’ audit events to the sink after commit', async () => {
      const events: { action: string; metadata: Record<string, unknown> }[] = []
      const app = createTenantry<RefDB, ReturnType<typeof cascadeTables>>({
        pool,
        tables: cascadeTables(),
        isolation: mode,
        audit: { sink: (batch) => void events.push(...batch) },
      })
      const { project, deployments, builds } = await tree(app, 'cascade-sink', 1)
      events.length = 0
      await app.withContext({ tenantId: tenantA }).repo('projects').softDelete(project.id)
      expect(events.map((e) => e.action)).toEqual(['projects.softDelete', 'deployments.softDelete', 'builds.softDelete'])
      expect(events[2]!.metadata).toMatchObject({ cascade: { from: 'deployments', column: 'deployment_id' } })
      expect(await deletedAt('builds', builds[0]!.id)).not.toBeNull()
      expect(await deletedAt('deployments', deployments[0]!.id)).not.toBeNull()
    })

    it('cascades and restores between tables that soft-delete with a flag and a timestamp', async () => {
      const scope = cascade.withContext({ tenantId: tenantA })
      const device = await scope.repo('devices').create({ serial: `${mode}-flag` })
      const [live, gone] = await scope.repo('readings').createMany([
        { device_id: device.id, value: 1 },
        { device_id: device.id, value: 2 },
      ])
      await scope.repo('readings').softDelete(gone!.id)
      await scope.repo('devices').softDelete(device.id)
      const state = async (id: string) =>
        (
          await sql<{ is_active: boolean; deleted_at: string | null }>`select is_active, deleted_at::text as deleted_at from readings where id = ${id}`.execute(
            fileDb.db,
          )
        ).rows[0]!
      const { rows } = await sql<{ deleted_at: string }>`select deleted_at::text as deleted_at from devices where id = ${device.id}`.execute(fileDb.db)
      expect(await state(live!.id)).toEqual({ is_active: false, deleted_at: rows[0]!.deleted_at })
      await scope.repo('devices').restore(device.id)
      expect(await state(live!.id)).toEqual({ is_active: true, deleted_at: null })
      expect((await state(gone!.id)).is_active).toBe(false)
    })

    if (mode === 'query') {
      it('costs one statement per table of the cascade, in one transaction', async () => {
        const { scope, project } = await tree(cascade, 'cascade-trips', 2)
        // BEGIN, projects, deployments, builds, COMMIT.
        expect(await trips.measure(() => scope.repo('projects').softDelete(project.id))).toBe(5)
        // BEGIN, the project's soft-delete time, projects, deployments, builds, COMMIT.
        expect(await trips.measure(() => scope.repo('projects').restore(project.id))).toBe(6)
      })
    }

    it("stops at a 'restrict' below the cascade: CONFLICT, nothing deleted", async () => {
      const tables = referenceTables({
        deployments: { references: { project_id: { table: 'projects', onSoftDelete: 'cascade' } } },
        builds: { references: { deployment_id: 'deployments' } },
      })
      const mixed = referenceTenantry(pool, mode, tables)
      const { project, deployments, builds } = await tree(mixed, 'cascade-restrict', 1)
      const error = await failure(mixed.withContext({ tenantId: tenantA }).repo('projects').softDelete(project.id))
      expect(error).toMatchObject({ code: 'CONFLICT', table: 'builds', column: 'deployment_id' })
      expect(await deletedAt('projects', project.id)).toBeNull()
      expect(await deletedAt('deployments', deployments[0]!.id)).toBeNull()
      expect(await deletedAt('builds', builds[0]!.id)).toBeNull()
    })
  })
}

/** A promise and its resolver, to order two concurrent transactions. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('a child created while its parent is soft-deleted (READ COMMITTED, with the documented row locks)', () => {
  it('the soft delete that waited for the lock sees the new child: CONFLICT', async () => {
    const app = referenceTenantry(fileDb.pool, 'query')
    const scope = app.withContext({ tenantId: tenantA })
    const project = await scope.repo('projects').create({ name: 'lock-race-1' })
    const locked = signal()
    const proceed = signal()
    const creator = scope.transaction(async (tx) => {
      await tx.repo('projects').findById(project.id, { lock: 'share' })
      locked.resolve()
      await proceed.promise
      await tx.repo('deployments').create({ name: 'lock-race-child', project_id: project.id })
    })
    await locked.promise
    const deleter = scope
      .transaction(async (tx) => {
        await tx.repo('projects').findById(project.id, { lock: 'update' })
        await tx.repo('projects').softDelete(project.id)
      })
      .catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 100))
    proceed.resolve()
    await creator
    expect(await deleter).toMatchObject({ code: 'CONFLICT', table: 'deployments' })
    expect(await deletedAt('projects', project.id)).toBeNull()
  })

  it('the create that waited for the lock finds the parent gone: FOREIGN_KEY_VIOLATION', async () => {
    const app = referenceTenantry(fileDb.pool, 'query')
    const scope = app.withContext({ tenantId: tenantA })
    const project = await scope.repo('projects').create({ name: 'lock-race-2' })
    const locked = signal()
    const proceed = signal()
    const deleter = scope.transaction(async (tx) => {
      await tx.repo('projects').findById(project.id, { lock: 'update' })
      locked.resolve()
      await proceed.promise
      await tx.repo('projects').softDelete(project.id)
    })
    await locked.promise
    const creator = scope
      .transaction(async (tx) => {
        const parent = await tx.repo('projects').findById(project.id, { lock: 'share' })
        expect(parent).toBeNull()
        await tx.repo('deployments').create({ name: 'lock-race-orphan', project_id: project.id })
      })
      .catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 100))
    proceed.resolve()
    await deleter
    expect(await creator).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id' })
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from deployments where name = 'lock-race-orphan'`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(0)
  })
})

describe("soft delete following references with isolation 'query'", () => {
  suite('query', () => ({ pool: fileDb.pool, trips: fileDb.roundTrips }))
})

describe("soft delete following references with isolation 'rls' (application role)", () => {
  let pool: pg.Pool
  let trips: RoundTripCounter
  beforeAll(async () => {
    await referenceTenantry(fileDb.pool, 'query').rls.enable()
    const role = await createAppRole(fileDb)
    pool = role.pool
    trips = role.roundTrips
  })
  suite('rls', () => ({ pool, trips }))
})
