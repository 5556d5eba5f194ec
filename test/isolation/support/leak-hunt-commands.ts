import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { sql, type Kysely } from 'kysely'
import { expect } from 'vitest'
import { isTenantryError, type Tenantry } from '../../../src/index.js'
import type { AppDB } from '../../support/host-schema.js'

/** What the database should hold: every project row, of every tenant. */
export interface LeakModel {
  rows: Map<string, { tenant: number; name: string; deleted: boolean }>
}

export interface LeakReal {
  tenantry: Tenantry<AppDB>
  tenants: string[]
  /** Unscoped access, for comparing the whole table with the model after every command. */
  check: Kysely<any>
  /** Include raw-SQL reads, which only row-level security can scope. */
  rawSql: boolean
}

type Cmd = fc.AsyncCommand<LeakModel, LeakReal>

/** A row id picked from every row the model knows (of any tenant), or an id that exists nowhere. */
function pick(model: LeakModel, index: number): string {
  const ids = [...model.rows.keys()]
  return ids.length === 0 || index % (ids.length + 1) === ids.length ? randomUUID() : ids[index % (ids.length + 1)]!
}

function live(model: LeakModel, tenant: number): string[] {
  return [...model.rows.values()]
    .filter((r) => r.tenant === tenant && !r.deleted)
    .map((r) => r.name)
    .sort()
}

function owns(model: LeakModel, id: string, tenant: number, deleted: boolean): boolean {
  const row = model.rows.get(id)
  return row !== undefined && row.tenant === tenant && row.deleted === deleted
}

async function notFound(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(isTenantryError(error, 'NOT_FOUND'), String(error)).toBe(true)
}

/** After every command: the database holds exactly the model, so no write crossed a tenant. */
async function compare(model: LeakModel, real: LeakReal): Promise<void> {
  const rows = await real.check.selectFrom('projects').select(['id', 'tenant_id', 'name', 'deleted_at']).execute()
  const actual = Object.fromEntries(rows.map((r) => [r.id, { tenant: real.tenants.indexOf(r.tenant_id), name: r.name, deleted: r.deleted_at !== null }]))
  expect(actual).toEqual(Object.fromEntries(model.rows))
}

function command(label: string, run: (model: LeakModel, real: LeakReal) => Promise<void>, check: (model: LeakModel) => boolean = () => true): Cmd {
  return {
    check,
    async run(model, real) {
      await run(model, real)
      await compare(model, real)
    },
    toString: () => label,
  }
}

const tenant = fc.nat({ max: 2 })
const target = fc.nat({ max: 50 })
const name = fc.stringMatching(/^[a-z]{1,6}$/)

/** Repository and `scope.db` operations by random tenants, aimed at random rows of any tenant. */
export function leakHuntCommands(options: { rawSql: boolean }): fc.Arbitrary<Cmd>[] {
  const scope = (real: LeakReal, t: number) => real.tenantry.withContext({ tenantId: real.tenants[t]! })
  const commands: fc.Arbitrary<Cmd>[] = [
    fc.tuple(tenant, name).map(([t, n]) =>
      command(`repo.create(t${t}, ${n})`, async (model, real) => {
        const row = await scope(real, t).repo('projects').create({ name: n })
        expect(row.tenant_id).toBe(real.tenants[t])
        model.rows.set(row.id, { tenant: t, name: n, deleted: false })
      }),
    ),
    fc.tuple(tenant, target).map(([t, i]) =>
      command(`repo.findById(t${t}, #${i})`, async (model, real) => {
        const id = pick(model, i)
        const row = await scope(real, t).repo('projects').findById(id)
        expect(row?.id ?? null).toBe(owns(model, id, t, false) ? id : null)
      }),
    ),
    fc.tuple(tenant).map(([t]) =>
      command(`repo.findMany(t${t})`, async (model, real) => {
        const rows = await scope(real, t).repo('projects').findMany({ limit: 1000 })
        expect(rows.map((r) => r.name).sort()).toEqual(live(model, t))
        expect(await scope(real, t).repo('projects').count()).toBe(live(model, t).length)
      }),
    ),
    fc.tuple(tenant, target, name).map(([t, i, n]) =>
      command(`repo.update(t${t}, #${i}, ${n})`, async (model, real) => {
        const id = pick(model, i)
        const repo = scope(real, t).repo('projects')
        if (!owns(model, id, t, false)) return notFound(repo.update(id, { name: n }))
        await repo.update(id, { name: n })
        model.rows.get(id)!.name = n
      }),
    ),
    fc.tuple(tenant, target).map(([t, i]) =>
      command(`repo.softDelete(t${t}, #${i})`, async (model, real) => {
        const id = pick(model, i)
        const repo = scope(real, t).repo('projects')
        if (!owns(model, id, t, false)) return notFound(repo.softDelete(id))
        await repo.softDelete(id)
        model.rows.get(id)!.deleted = true
      }),
    ),
    fc.tuple(tenant, target).map(([t, i]) =>
      command(`repo.restore(t${t}, #${i})`, async (model, real) => {
        const id = pick(model, i)
        const repo = scope(real, t).repo('projects')
        if (!owns(model, id, t, true)) return notFound(repo.restore(id))
        await repo.restore(id)
        model.rows.get(id)!.deleted = false
      }),
    ),
    fc.tuple(tenant, name).map(([t, n]) =>
      command(`db.insert(t${t}, ${n})`, async (model, real) => {
        const row = await scope(real, t)
          .db.insertInto('projects')
          .values({ name: n } as never)
          .returning(['id', 'tenant_id'])
          .executeTakeFirstOrThrow()
        expect(row.tenant_id).toBe(real.tenants[t])
        model.rows.set(row.id, { tenant: t, name: n, deleted: false })
      }),
    ),
    fc.tuple(tenant).map(([t]) =>
      command(`db.select-join(t${t})`, async (model, real) => {
        // A self join and a subquery: every table reference must be scoped.
        const rows = await scope(real, t)
          .db.selectFrom('projects as p')
          .leftJoin('projects as q', 'q.name', 'p.name')
          .select(['p.name', 'p.tenant_id as pt', 'q.tenant_id as qt'])
          .where('p.id', 'in', (eb) => eb.selectFrom('projects').select('id'))
          .execute()
        expect([...new Set(rows.map((r) => r.name))].sort()).toEqual([...new Set(live(model, t))].sort())
        for (const row of rows) expect([row.pt, row.qt]).toEqual([real.tenants[t], real.tenants[t]])
      }),
    ),
    fc.tuple(tenant, name).map(([t, n]) =>
      command(`db.updateAll(t${t}, ${n})`, async (model, real) => {
        // No where clause at all: the classic "forgot the tenant filter" bug.
        const result = await scope(real, t).db.updateTable('projects').set({ name: n }).executeTakeFirst()
        const mine = [...model.rows.values()].filter((r) => r.tenant === t && !r.deleted)
        expect(Number(result.numUpdatedRows)).toBe(mine.length)
        for (const row of mine) row.name = n
      }),
    ),
    fc.tuple(tenant, target).map(([t, i]) =>
      command(`db.delete(t${t}, #${i})`, async (model, real) => {
        const id = pick(model, i)
        const result = await scope(real, t).db.deleteFrom('projects').where('id', '=', id).executeTakeFirst()
        const expected = owns(model, id, t, false)
        expect(Number(result.numDeletedRows)).toBe(expected ? 1 : 0)
        if (expected) model.rows.delete(id)
      }),
    ),
    fc.tuple(tenant, target).map(([t, i]) =>
      command(`transaction(t${t}, #${i})`, async (model, real) => {
        const id = pick(model, i)
        const visible = await scope(real, t).transaction(async (tx) => {
          const found = await tx.repo('projects').findById(id)
          const all = await tx.db.selectFrom('projects').select('tenant_id').execute()
          return { found, tenants: all.map((r) => r.tenant_id) }
        })
        expect(visible.found?.id ?? null).toBe(owns(model, id, t, false) ? id : null)
        expect(visible.tenants.every((x) => x === real.tenants[t])).toBe(true)
      }),
    ),
  ]
  if (options.rawSql) {
    commands.push(
      fc.tuple(tenant).map(([t]) =>
        command(`raw select without filter(t${t})`, async (model, real) => {
          // Only the database layer scopes this: no predicate was added by tenantry.
          const { rows } = await sql<{ tenant_id: string; deleted_at: Date | null }>`select tenant_id, deleted_at from projects`.execute(
            scope(real, t).scopedDb({ allowRawSql: true }),
          )
          const expected = [...model.rows.values()].filter((r) => r.tenant === t).length
          expect(rows.length).toBe(expected)
          expect(rows.every((r) => r.tenant_id === real.tenants[t])).toBe(true)
        }),
      ),
    )
  }
  return commands
}
