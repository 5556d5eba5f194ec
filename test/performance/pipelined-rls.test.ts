import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { createAppRole, type AppRole } from '../isolation/support/app-role.js'

/**
 * `isolation: 'rls'` over a pool that pipelines (`new pg.Pool({ pipeline: true })`), as the
 * non-owner application role: BEGIN with the context, the statement and COMMIT travel in one
 * flight, so a single-statement operation is one round trip and a transaction of N statements
 * N + 1; a failing statement still rolls back. Without pipelining the same operations stay
 * correct at three round trips.
 */

const fileDb = await useFileDatabase()
let pipelined: AppRole
let plain: AppRole
let app: Tenantry<AppDB>
let appPlain: Tenantry<AppDB>
let tenantA: string
let tenantB: string
let rowOfB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'pipe-a')
  tenantB = await insertTenant(fileDb.db, 'pipe-b')
  rowOfB = (await fileDb.db.insertInto('projects').values({ tenant_id: tenantB, name: 'of b' }).returning('id').executeTakeFirstOrThrow()).id
  await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
  pipelined = await createAppRole(fileDb, { poolSize: 2, pipeline: true })
  plain = await createAppRole(fileDb, { poolSize: 2 })
  app = makeTenantry(pipelined.pool, { isolation: 'rls' })
  appPlain = makeTenantry(plain.pool, { isolation: 'rls' })
  await app.ready()
  await appPlain.ready()
})

async function projectNamed(name: string) {
  return fileDb.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst()
}

async function auditRows(action: string, outcome: string, tenantId: string) {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs
    where action = ${action} and outcome = ${outcome} and tenant_id = ${tenantId}`.execute(fileDb.db)
  return rows[0]!.n
}

describe("isolation 'rls' with a pipelining pool", () => {
  it('creates, reads, updates and soft-deletes in one round trip each, committed with their audit rows', async () => {
    const repo = app.withContext({ tenantId: tenantA }).repo('projects')
    let created: { id: string } | undefined
    expect(await pipelined.roundTrips.measure(async () => (created = await repo.create({ name: 'piped' })))).toBe(1)
    const row = await projectNamed('piped')
    expect(row?.tenant_id).toBe(tenantA)
    expect(await auditRows('projects.create', 'success', tenantA)).toBe(1)

    expect(await pipelined.roundTrips.measure(async () => expect((await repo.findById(created!.id))?.name).toBe('piped'))).toBe(1)
    expect(await pipelined.roundTrips.measure(() => repo.update(created!.id, { name: 'piped again' }))).toBe(1)
    expect((await projectNamed('piped again'))?.id).toBe(created!.id)
    expect(await pipelined.roundTrips.measure(() => repo.findMany({ limit: 10 }))).toBe(1)
    expect(await pipelined.roundTrips.measure(() => repo.count())).toBe(1)
    expect(await pipelined.roundTrips.measure(() => repo.softDelete(created!.id))).toBe(1)
    expect((await projectNamed('piped again'))?.deleted_at).not.toBeNull()
    expect(await auditRows('projects.softDelete', 'success', tenantA)).toBe(1)
  })

  it("sets the context in the same flight: another tenant's row stays invisible", async () => {
    const repo = app.withContext({ tenantId: tenantA }).repo('projects')
    expect(await repo.findById(rowOfB)).toBeNull()
    expect(await app.withContext({ tenantId: tenantB }).repo('projects').findById(rowOfB)).toMatchObject({ id: rowOfB, name: 'of b' })
    // Nothing of the context outlives its transaction on the pooled connection.
    const { rows } = await pipelined.pool.query("select current_setting('tenantry.tenant_id', true) as tenant, (select count(*) from projects)::int as visible")
    expect(rows[0].tenant ?? '').toBe('')
    expect(rows[0].visible).toBe(0)
  })

  it('rolls back a failing write and leaves its failure audit row', async () => {
    const repo = app.withContext({ tenantId: tenantA }).repo('projects')
    await repo.create({ name: 'first slug', slug: 'taken' })
    const failuresBefore = await auditRows('projects.create', 'failure', tenantA)
    const error = await repo.create({ name: 'second slug', slug: 'taken' }).catch((e: unknown) => e)
    expect(isTenantryError(error, 'UNIQUE_VIOLATION')).toBe(true)
    expect(await projectNamed('second slug')).toBeUndefined()
    expect(await auditRows('projects.create', 'failure', tenantA)).toBe(failuresBefore + 1)
    // The connection is usable again at once: the aborted transaction was rolled back.
    expect(await pipelined.roundTrips.measure(() => repo.create({ name: 'after failure' }))).toBe(1)
    expect((await projectNamed('after failure'))?.tenant_id).toBe(tenantA)
  })

  it('runs a transaction of three statements in at most four round trips, all-or-nothing', async () => {
    const scope = app.withContext({ tenantId: tenantA })
    const trips = await pipelined.roundTrips.measure(() =>
      scope.transaction(async (tx) => {
        await tx.repo('projects').create({ name: 'tx one' })
        await tx.repo('projects').create({ name: 'tx two' })
        await tx.repo('projects').create({ name: 'tx three' })
      }),
    )
    expect(trips).toBeLessThanOrEqual(4)
    for (const name of ['tx one', 'tx two', 'tx three']) expect((await projectNamed(name))?.tenant_id).toBe(tenantA)

    const error = await scope
      .transaction(async (tx) => {
        await tx.repo('projects').create({ name: 'tx rolled back' })
        throw new Error('abort the transaction')
      })
      .catch((e: unknown) => e)
    expect((error as Error).message).toBe('abort the transaction')
    expect(await projectNamed('tx rolled back')).toBeUndefined()
  })

  it('rolls back a transaction whose statement fails, and records the failure', async () => {
    const scope = app.withContext({ tenantId: tenantA })
    const failuresBefore = await auditRows('projects.create', 'failure', tenantA)
    const error = await scope
      .transaction(async (tx) => {
        await tx.repo('projects').create({ name: 'before the failure' })
        await tx.repo('projects').create({ name: 'negative budget', budget: -1 })
      })
      .catch((e: unknown) => e)
    expect(isTenantryError(error)).toBe(true)
    expect(await projectNamed('before the failure')).toBeUndefined()
    expect(await auditRows('projects.create', 'failure', tenantA)).toBe(failuresBefore + 1)
  })

  it('without pipelining stays correct at BEGIN with the context, the statement and COMMIT', async () => {
    const repo = appPlain.withContext({ tenantId: tenantA }).repo('projects')
    expect(await plain.roundTrips.measure(() => repo.create({ name: 'unpiped' }))).toBe(3)
    expect((await projectNamed('unpiped'))?.tenant_id).toBe(tenantA)
    expect(await plain.roundTrips.measure(() => repo.findMany({ limit: 10 }))).toBe(3)
    expect(await repo.findById(rowOfB)).toBeNull()
  })
})
