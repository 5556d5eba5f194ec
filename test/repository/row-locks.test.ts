import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry } from '../../src/index.js'
import type { RoundTripCounter } from '../support/test-database.js'
import { useFileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { createAppRole } from '../isolation/support/app-role.js'

const fileDb = await useFileDatabase()
let tenantA: string
let tenantB: string

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantA = await insertTenant(fileDb.db, 'locks-a')
  tenantB = await insertTenant(fileDb.db, 'locks-b')
})

/** Fails fast when `promise` waits on a lock it should not wait on. */
async function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let settled = false
  const tracked = promise.finally(() => {
    settled = true
  })
  return { promise: tracked, done: () => settled }
}

async function nameOf(id: string): Promise<string> {
  const row = await fileDb.db.selectFrom('projects').select('name').where('id', '=', id).executeTakeFirstOrThrow()
  return row.name
}

async function seed(tenantId: string, name: string): Promise<string> {
  const row = await fileDb.db.insertInto('projects').values({ tenant_id: tenantId, name }).returning('id').executeTakeFirstOrThrow()
  return row.id
}

function rowLockSuite(mode: 'query' | 'rls', setup: () => Promise<{ tenantry: Tenantry<AppDB>; roundTrips: RoundTripCounter }>): void {
  describe(`row locks (${mode} isolation)`, () => {
    let tenantry: Tenantry<AppDB>
    let roundTrips: RoundTripCounter

    beforeAll(async () => {
      ;({ tenantry, roundTrips } = await setup())
      await tenantry.ready()
    })

    it("findById with lock 'update' makes a concurrent update wait until commit", async () => {
      const id = await seed(tenantA, `${mode}-original`)
      const scope = tenantry.withContext({ tenantId: tenantA })
      let second: ReturnType<typeof track<unknown>> | undefined
      await scope.transaction(async (tx) => {
        const locked = await tx.repo('projects').findById(id, { lock: 'update' })
        expect(locked?.name).toBe(`${mode}-original`)
        second = track(
          tenantry
            .withContext({ tenantId: tenantA })
            .repo('projects')
            .update(id, { name: `${mode}-second` }),
        )
        await sleep(300)
        // The other scope's update has not run: this transaction still sees the row as it locked it.
        expect(second.done()).toBe(false)
        expect((await tx.repo('projects').findById(id))?.name).toBe(`${mode}-original`)
        await tx.repo('projects').update(id, { name: `${mode}-first` })
        expect(second.done()).toBe(false)
      })
      await within(second!.promise)
      // The waiting update ran after the commit, so it wrote last.
      expect(await nameOf(id)).toBe(`${mode}-second`)
    })

    it("findMany and findOne with lock 'update' lock the returned rows only", async () => {
      const scope = tenantry.withContext({ tenantId: tenantA })
      const [one, two, three] = [await seed(tenantA, `${mode}-m1`), await seed(tenantA, `${mode}-m2`), await seed(tenantA, `${mode}-m3`)]
      let blocked: ReturnType<typeof track<unknown>> | undefined
      await scope.transaction(async (tx) => {
        const rows = await tx.repo('projects').findMany({ where: { name: { like: `${mode}-m%` } }, orderBy: 'name', limit: 2, lock: 'update' })
        expect(rows.map((r) => r.id)).toEqual([one, two])
        const first = await tx.repo('projects').findOne({ where: { id: one }, lock: 'update' })
        expect(first?.id).toBe(one)
        // The row past the limit is not locked: its update proceeds at once.
        await within(
          tenantry
            .withContext({ tenantId: tenantA })
            .repo('projects')
            .update(three!, { name: `${mode}-m3-free` }),
        )
        blocked = track(
          tenantry
            .withContext({ tenantId: tenantA })
            .repo('projects')
            .update(two!, { name: `${mode}-m2-later` }),
        )
        await sleep(200)
        expect(blocked.done()).toBe(false)
      })
      await within(blocked!.promise)
      expect([await nameOf(one!), await nameOf(two!), await nameOf(three!)]).toEqual([`${mode}-m1`, `${mode}-m2-later`, `${mode}-m3-free`])
    })

    it('does not lock the extra row fetched to notice a cut the caller did not choose', async () => {
      const scope = tenantry.withContext({ tenantId: tenantB })
      const created = await scope.repo('projects').createMany(Array.from({ length: 101 }, (_, i) => ({ name: `${mode}-probe-${i}` })))
      await scope.transaction(async (tx) => {
        const rows = await tx.repo('projects').findMany({ where: { name: { like: `${mode}-probe-%` } }, lock: 'update' })
        expect(rows).toHaveLength(100)
        const returned = new Set(rows.map((r) => r.id))
        const rest = created.filter((r) => !returned.has(r.id))
        expect(rest).toHaveLength(1)
        await within(
          tenantry
            .withContext({ tenantId: tenantB })
            .repo('projects')
            .update(rest[0]!.id, { name: `${mode}-probe-free` }),
        )
      })
      const free = await fileDb.db.selectFrom('projects').select('id').where('name', '=', `${mode}-probe-free`).execute()
      expect(free).toHaveLength(1)
    })

    it("lock 'share' lets another share lock proceed but makes an update wait", async () => {
      const id = await seed(tenantA, `${mode}-shared`)
      const scope = tenantry.withContext({ tenantId: tenantA })
      let update: ReturnType<typeof track<unknown>> | undefined
      await scope.transaction(async (tx) => {
        expect((await tx.repo('projects').findById(id, { lock: 'share' }))?.id).toBe(id)
        const other = await within(
          tenantry.withContext({ tenantId: tenantA }).transaction((tx2) => tx2.repo('projects').findMany({ where: { id }, lock: 'share' })),
        )
        expect(other.map((r) => r.id)).toEqual([id])
        update = track(
          tenantry
            .withContext({ tenantId: tenantA })
            .repo('projects')
            .update(id, { name: `${mode}-shared-updated` }),
        )
        await sleep(200)
        expect(update.done()).toBe(false)
        expect(await nameOf(id)).toBe(`${mode}-shared`)
      })
      await within(update!.promise)
      expect(await nameOf(id)).toBe(`${mode}-shared-updated`)
    })

    it("does not lock another tenant's row: it is not found, and its own tenant updates it at once", async () => {
      const foreign = await seed(tenantB, `${mode}-foreign`)
      await tenantry.withContext({ tenantId: tenantA }).transaction(async (tx) => {
        expect(await tx.repo('projects').findById(foreign, { lock: 'update' })).toBeNull()
        expect(await tx.repo('projects').findMany({ where: { id: foreign }, lock: 'update' })).toEqual([])
        expect(await tx.repo('projects').findOne({ where: { id: foreign }, lock: 'share' })).toBeNull()
        await within(
          tenantry
            .withContext({ tenantId: tenantB })
            .repo('projects')
            .update(foreign, { name: `${mode}-foreign-updated` }),
        )
      })
      expect(await nameOf(foreign)).toBe(`${mode}-foreign-updated`)
    })

    it('does not lock a soft-deleted row the repository does not show', async () => {
      const id = await seed(tenantA, `${mode}-gone`)
      await tenantry.withContext({ tenantId: tenantA }).repo('projects').softDelete(id)
      await tenantry.withContext({ tenantId: tenantA }).transaction(async (tx) => {
        expect(await tx.repo('projects').findById(id, { lock: 'update' })).toBeNull()
        await within(
          fileDb.db
            .updateTable('projects')
            .set({ name: `${mode}-gone-renamed` })
            .where('id', '=', id)
            .execute(),
        )
      })
      expect(await nameOf(id)).toBe(`${mode}-gone-renamed`)
    })

    it('refuses lock outside a transaction with VALIDATION, before any SQL', async () => {
      const id = await seed(tenantA, `${mode}-outside`)
      const repo = tenantry.withContext({ tenantId: tenantA }).repo('projects')
      const calls = [() => repo.findById(id, { lock: 'update' }), () => repo.findOne({ where: { id }, lock: 'share' }), () => repo.findMany({ lock: 'update' })]
      for (const call of calls) {
        let error: unknown
        const trips = await roundTrips.measure(async () => {
          error = await call().catch((e: unknown) => e)
        })
        expect(isTenantryError(error, 'VALIDATION')).toBe(true)
        expect((error as Error).message).toContain('"lock"')
        expect((error as Error).message).toContain('scope.transaction')
        expect(trips).toBe(0)
      }
      expect(await nameOf(id)).toBe(`${mode}-outside`)
    })

    it('refuses any other lock value with VALIDATION, inside a transaction too', async () => {
      const id = await seed(tenantA, `${mode}-bad`)
      const scope = tenantry.withContext({ tenantId: tenantA })
      const error = await scope
        .transaction(async (tx) => {
          await tx.repo('projects').update(id, { name: `${mode}-bad-changed` })
          await tx.repo('projects').findById(id, { lock: 'exclusive' as 'update' })
        })
        .catch((e: unknown) => e)
      expect(isTenantryError(error, 'VALIDATION')).toBe(true)
      expect((error as Error).message).toContain('"lock"')
      const outside = await scope
        .repo('projects')
        .findMany({ lock: 'nowait' as 'share' })
        .catch((e: unknown) => e)
      expect(isTenantryError(outside, 'VALIDATION')).toBe(true)
      // The transaction rolled back.
      expect(await nameOf(id)).toBe(`${mode}-bad`)
    })
  })
}

rowLockSuite('query', async () => ({ tenantry: makeTenantry(fileDb.pool), roundTrips: fileDb.roundTrips }))

rowLockSuite('rls', async () => {
  await makeTenantry(fileDb.pool, { isolation: 'rls' }).rls.enable()
  const role = await createAppRole(fileDb, { poolSize: 4 })
  return { tenantry: makeTenantry(role.pool, { isolation: 'rls' }), roundTrips: role.roundTrips }
})
