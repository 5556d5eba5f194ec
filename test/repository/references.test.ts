import { sql } from 'kysely'
import type pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, TenantryError, type Tenantry } from '../../src/index.js'
import { createAppRole } from '../isolation/support/app-role.js'
import { useFileDatabase, type RoundTripCounter } from '../support/test-database.js'
import { createHostTables, insertTenant } from '../support/host-schema.js'
import { createReferenceTables, referenceTables, referenceTenantry, type RefDB } from './support/reference-tables.js'

/**
 * Declared references (`defineTable({ references })`): a plain `project_id references projects
 * (id)` lets tenant B point a deployment at tenant A's project (the key check sees neither tenants
 * nor row-level security) and its error tells whether an id exists. A declared reference must name
 * a live row of the same tenant, checked in the write's own statement, with one message for every
 * way it can fail. Each attack runs in both isolation modes (rls as the non-owner app role).
 */

const fileDb = await useFileDatabase()
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  await createReferenceTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'refs-a')
  tenantB = await insertTenant(fileDb.db, 'refs-b')
})

type App = Tenantry<RefDB, ReturnType<typeof referenceTables>>

async function failure(promise: Promise<unknown>): Promise<TenantryError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'the write should have been refused').toBeInstanceOf(TenantryError)
  return error as TenantryError
}

async function deploymentCount(where: { name?: string; project?: string }): Promise<number> {
  let query = fileDb.db.selectFrom('deployments').select((eb) => eb.fn.countAll<number>().as('n'))
  if (where.name) query = query.where('name', 'like', where.name)
  if (where.project) query = query.where('project_id', '=', where.project)
  return Number((await query.executeTakeFirstOrThrow()).n)
}

async function projectOf(tenantId: string, name: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`insert into projects (tenant_id, name) values (${tenantId}, ${name}) returning id`.execute(fileDb.db)
  return rows[0]!.id
}

function suite(mode: 'query' | 'rls', setup: () => { app: App; trips: RoundTripCounter; pool: pg.Pool }) {
  let app: App
  let trips: RoundTripCounter
  let pool: pg.Pool
  let projectA: string
  let projectB: string
  let deletedB: string
  beforeAll(async () => {
    ;({ app, trips, pool } = setup())
    await app.ready()
    projectA = await projectOf(tenantA, `${mode}-a`)
    projectB = await projectOf(tenantB, `${mode}-b`)
    deletedB = await projectOf(tenantB, `${mode}-b-deleted`)
    await sql`update projects set deleted_at = now() where id = ${deletedB}`.execute(fileDb.db)
  })
  const asB = () => app.withContext({ tenantId: tenantB }).repo('deployments')

  it('refuses create pointing at another tenant’s project, inserting nothing', async () => {
    const error = await failure(asB().create({ name: `${mode}-steal`, project_id: projectA }))
    expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', table: 'deployments', column: 'project_id', operation: 'deployments.create' })
    expect(error.message).toContain('"project_id"')
    expect(error.message).toContain('"projects"')
    expect(error.message).not.toContain(projectA)
    expect(await deploymentCount({ project: projectA })).toBe(0)
  })

  it('refuses createMany when one row points at another tenant’s project, inserting none of them', async () => {
    const error = await failure(
      asB().createMany([
        { name: `${mode}-many-1`, project_id: projectB },
        { name: `${mode}-many-2`, project_id: projectA },
        { name: `${mode}-many-3`, project_id: projectB },
      ]),
    )
    expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id', operation: 'deployments.createMany' })
    expect(await deploymentCount({ name: `${mode}-many-%` })).toBe(0)
  })

  it('refuses update and updateMany that move a deployment to another tenant’s project, changing nothing', async () => {
    const own = await asB().create({ name: `${mode}-move`, project_id: projectB })
    const one = await failure(asB().update(own.id, { project_id: projectA }))
    expect(one).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id', operation: 'deployments.update' })
    const many = await failure(asB().updateMany({ name: `${mode}-move` }, { project_id: projectA }))
    expect(many).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id', operation: 'deployments.updateMany' })
    const stored = await fileDb.db.selectFrom('deployments').selectAll().where('id', '=', own.id).executeTakeFirstOrThrow()
    expect(stored.project_id).toBe(projectB)
    expect(stored.updated_at).toEqual(own.updated_at)
  })

  it('says the same for a missing, a soft-deleted and another tenant’s project (no existence oracle)', async () => {
    const missing = await failure(asB().create({ name: `${mode}-oracle`, project_id: '00000000-0000-4000-8000-00000000dead' }))
    const deleted = await failure(asB().create({ name: `${mode}-oracle`, project_id: deletedB }))
    const foreign = await failure(asB().create({ name: `${mode}-oracle`, project_id: projectA }))
    for (const error of [deleted, foreign]) {
      expect({ code: error.code, message: error.message, column: error.column, table: error.table }).toEqual({
        code: missing.code,
        message: missing.message,
        column: missing.column,
        table: missing.table,
      })
    }
    expect(missing.code).toBe('FOREIGN_KEY_VIOLATION')
    expect(await deploymentCount({ name: `${mode}-oracle` })).toBe(0)
    const audits = await fileDb.db
      .selectFrom('tenantry.audit_logs')
      .select(['outcome', 'error_code'])
      .where('tenant_id', '=', tenantB)
      .where('action', '=', 'deployments.create')
      .where('outcome', '<>', 'success')
      .execute()
    expect(audits.length).toBeGreaterThanOrEqual(3)
    expect(new Set(audits.map((a) => `${a.outcome}:${a.error_code}`))).toEqual(new Set(['denied:FOREIGN_KEY_VIOLATION']))
  })

  it('accepts the tenant’s own live project, and null for a nullable reference', async () => {
    const first = await asB().create({ name: `${mode}-ok-1`, project_id: projectB })
    const second = await asB().create({ name: `${mode}-ok-2`, project_id: projectB, previous_id: first.id })
    const cleared = await asB().update(second.id, { previous_id: null })
    expect(cleared.previous_id).toBeNull()
    expect(await asB().updateMany({ name: { like: `${mode}-ok-%` } }, { project_id: projectB })).toEqual({ count: 2 })
    const stored = await fileDb.db.selectFrom('deployments').select(['project_id', 'previous_id']).where('id', '=', second.id).executeTakeFirstOrThrow()
    expect(stored).toEqual({ project_id: projectB, previous_id: null })
  })

  it('checks an update only for the references it sets', async () => {
    const project = await projectOf(tenantB, `${mode}-soon-gone`)
    const row = await asB().create({ name: `${mode}-unrelated`, project_id: project })
    await sql`update projects set deleted_at = now() where id = ${project}`.execute(fileDb.db)
    const renamed = await asB().update(row.id, { name: `${mode}-unrelated-2` })
    expect(renamed.name).toBe(`${mode}-unrelated-2`)
    await expect(asB().update(row.id, { project_id: project })).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' })
  })

  it('refuses inside scope.transaction, and the transaction rolls back', async () => {
    const error = await failure(
      app.withContext({ tenantId: tenantB }).transaction(async (tx) => {
        await tx.repo('deployments').create({ name: `${mode}-tx-1`, project_id: projectB })
        await tx.repo('deployments').create({ name: `${mode}-tx-2`, project_id: projectA })
      }),
    )
    expect(error.code).toBe('FOREIGN_KEY_VIOLATION')
    expect(await deploymentCount({ name: `${mode}-tx-%` })).toBe(0)
    await app.withContext({ tenantId: tenantB }).transaction(async (tx) => {
      await tx.repo('deployments').create({ name: `${mode}-tx-ok`, project_id: projectB })
    })
    expect(await deploymentCount({ name: `${mode}-tx-ok` })).toBe(1)
  })

  it('checks the row a beforeCreate hook puts in place of the input', async () => {
    const tables = referenceTables({
      deployments: { hooks: { beforeCreate: (input) => ({ ...input, project_id: projectA }) } },
    })
    const hooked = referenceTenantry(pool, mode, tables).withContext({ tenantId: tenantB }).repo('deployments')
    const error = await failure(hooked.create({ name: `${mode}-hooked`, project_id: projectB }))
    expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id' })
    expect(await deploymentCount({ name: `${mode}-hooked` })).toBe(0)
  })

  it('checks the patch a beforeUpdate hook puts in place of the caller’s', async () => {
    const own = await asB().create({ name: `${mode}-hooked-update`, project_id: projectB })
    const tables = referenceTables({ deployments: { hooks: { beforeUpdate: (patch) => ({ ...patch, project_id: projectA }) } } })
    const hooked = referenceTenantry(pool, mode, tables).withContext({ tenantId: tenantB }).repo('deployments')
    const error = await failure(hooked.update(own.id, { name: `${mode}-hooked-update-2` }))
    expect(error).toMatchObject({ code: 'FOREIGN_KEY_VIOLATION', column: 'project_id' })
    const stored = await fileDb.db.selectFrom('deployments').select(['name', 'project_id']).where('id', '=', own.id).executeTakeFirstOrThrow()
    expect(stored).toEqual({ name: `${mode}-hooked-update`, project_id: projectB })
  })

  it('checks a system scope’s row against the row’s own tenant', async () => {
    const system = app.asSystem({ reason: 'reference test' }).repo('deployments')
    const ok = await system.create({ tenant_id: tenantA, name: `${mode}-sys-ok`, project_id: projectA })
    expect(ok.tenant_id).toBe(tenantA)
    const error = await failure(system.create({ tenant_id: tenantA, name: `${mode}-sys-cross`, project_id: projectB }))
    expect(error.code).toBe('FOREIGN_KEY_VIOLATION')
    await expect(system.update(ok.id, { project_id: projectB })).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' })
    expect(await deploymentCount({ name: `${mode}-sys-cross` })).toBe(0)
    const stored = await fileDb.db.selectFrom('deployments').select('project_id').where('id', '=', ok.id).executeTakeFirstOrThrow()
    expect(stored.project_id).toBe(projectA)
  })

  if (mode === 'query') {
    it('keeps create and update with references at one round trip', async () => {
      const repo = asB()
      const created = { value: undefined as unknown as { id: string } }
      const counts = {
        create: await trips.measure(async () => {
          created.value = await repo.create({ name: 'rt-create', project_id: projectB })
        }),
        createMany: await trips.measure(() => repo.createMany([{ name: 'rt-many', project_id: projectB }])),
        update: await trips.measure(() => repo.update(created.value.id, { project_id: projectB })),
        updateMany: await trips.measure(() => repo.updateMany({ name: 'rt-many' }, { project_id: projectB })),
      }
      expect(counts).toEqual({ create: 1, createMany: 1, update: 1, updateMany: 1 })
    })
  }
}

describe("declared references with isolation 'query'", () => {
  suite('query', () => ({ app: referenceTenantry(fileDb.pool, 'query'), trips: fileDb.roundTrips, pool: fileDb.pool }))
})

describe("declared references with isolation 'rls' (application role)", () => {
  let app: App
  let trips: RoundTripCounter
  let pool: pg.Pool
  beforeAll(async () => {
    await referenceTenantry(fileDb.pool, 'query').rls.enable()
    const role = await createAppRole(fileDb)
    pool = role.pool
    app = referenceTenantry(pool, 'rls')
    trips = role.roundTrips
  })
  suite('rls', () => ({ app, trips, pool }))
})

describe('declaring references', () => {
  const make = (deployments: Record<string, unknown>) =>
    createTenantry<RefDB>({ pool: fileDb.pool, tables: { ...referenceTables(), deployments: deployments as never } })

  it('refuses a reference to a table not declared in tables with CONFIGURATION naming it', () => {
    const error = (() => {
      try {
        make({ table: 'deployments', softDelete: 'deleted_at', references: { project_id: 'projcts' } })
      } catch (e) {
        return e
      }
    })()
    expect(error).toMatchObject({ code: 'CONFIGURATION', table: 'deployments', column: 'project_id' })
    expect((error as Error).message).toContain('"projcts"')
  })

  it('refuses a misspelt onSoftDelete or reference key with VALIDATION naming it', () => {
    expect(() =>
      defineTable<RefDB, 'deployments'>({ table: 'deployments', references: { project_id: { table: 'projects', onSoftDelete: 'cascad' as never } } }),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION', message: expect.stringContaining('references.project_id') }))
    expect(() => defineTable<RefDB, 'deployments'>({ table: 'deployments', references: { project_id: { tabel: 'projects' } as never } })).toThrow(
      expect.objectContaining({ code: 'VALIDATION' }),
    )
  })

  it('refuses a cascade from or to a table without a soft-delete time', () => {
    expect(() => make({ table: 'deployments', references: { project_id: { table: 'projects', onSoftDelete: 'cascade' } } })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION', column: 'project_id', message: expect.stringContaining("'cascade'") }),
    )
  })

  it('refuses a referencing column the table does not have, when the columns are read', async () => {
    const app = make({ table: 'deployments', softDelete: 'deleted_at', references: { projectid: 'projects' } })
    await expect(app.ready()).rejects.toMatchObject({ code: 'CONFIGURATION', table: 'deployments', column: 'projectid' })
  })
})
