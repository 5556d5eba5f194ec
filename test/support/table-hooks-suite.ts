import { sql, type Generated, type Kysely, type Selectable } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { defineTable, type TableDefinition, type Tenantry, type TransactionScope } from '../../src/index.js'
import { appTables, type AppDB } from './host-schema.js'

/**
 * One suite for the six table hooks, run in both isolation modes (query mode as the owner, RLS
 * mode as the non-owner application role): arguments, `args.before`, vetoes and rollbacks,
 * replacements, queries through `args.tx`, and a status history written from `afterUpdate`.
 */

export interface HookDB extends AppDB {
  project_history: {
    id: Generated<number>
    tenant_id: string
    project_id: string
    from_status: string
    to_status: string
    from_name: string
    changed_at: Generated<Date>
  }
}

export type HookName = 'beforeCreate' | 'afterCreate' | 'beforeUpdate' | 'afterUpdate' | 'beforeDelete' | 'afterDelete'

export interface HookCall {
  hook: HookName
  /** The hook's first argument: input, row, patch, ids or rows. */
  first: any
  args: Record<string, any>
}

/** Records every hook call; `behaviour` decides what a hook does in the current test. */
export class HookRecorder {
  calls: HookCall[] = []
  behaviour: Partial<Record<HookName, (first: any, args: any) => unknown>> = {}

  run(hook: HookName, first: unknown, args: Record<string, unknown>): any {
    this.calls.push({ hook, first, args })
    return this.behaviour[hook]?.(first, args)
  }

  named(hook: HookName): HookCall[] {
    return this.calls.filter((call) => call.hook === hook)
  }
}

export async function createHistoryTable(db: Kysely<any>): Promise<void> {
  await sql`create table project_history (
    id bigserial primary key,
    tenant_id uuid not null references tenantry.tenants (id),
    project_id uuid not null,
    from_status text not null,
    to_status text not null,
    from_name text not null,
    changed_at timestamptz not null default now()
  )`.execute(db)
}

/** The host tables with every hook of `projects` reporting to `recorder`, and the history table. */
export function hookTables(recorder: HookRecorder) {
  return {
    ...appTables,
    projects: defineTable<HookDB, 'projects'>({
      ...(appTables.projects as unknown as TableDefinition<HookDB, 'projects'>),
      hooks: {
        beforeCreate: (input, args) => recorder.run('beforeCreate', input, args as never),
        afterCreate: (row, args) => recorder.run('afterCreate', row, args as never),
        beforeUpdate: (patch, args) => recorder.run('beforeUpdate', patch, args as never),
        afterUpdate: (rows, args) => recorder.run('afterUpdate', rows, args as never),
        beforeDelete: (ids, args) => recorder.run('beforeDelete', ids, args as never),
        afterDelete: (rows, args) => recorder.run('afterDelete', rows, args as never),
      },
    }),
    history: defineTable<HookDB, 'project_history'>({ table: 'project_history' }),
  }
}

export interface HookSuiteSetup {
  mode: 'query' | 'rls'
  tenantry: Tenantry<HookDB>
  recorder: HookRecorder
  /** Checks the database behind the library's back (a superuser: sees every tenant). */
  check: Kysely<any>
  tenantId: string
  actorId: string
}

const REQUEST_ID = 'req-hooks'

export function describeTableHooks(name: string, setup: () => HookSuiteSetup): void {
  describe(name, () => {
    let s: HookSuiteSetup
    const scope = () => s.tenantry.withContext({ tenantId: s.tenantId, actorId: s.actorId, requestId: REQUEST_ID })
    const projects = () => scope().repo('projects')
    const stored = (id: string) => s.check.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst()
    const audits = (action: string, outcome: string, resourceId?: string) => {
      let query = s.check
        .selectFrom('tenantry.audit_logs')
        .select(['error_code', 'resource_id', 'request_id'])
        .where('tenant_id', '=', s.tenantId)
        .where('action', '=', action)
        .where('outcome', '=', outcome)
        .orderBy('created_at')
      if (resourceId) query = query.where('resource_id', '=', resourceId)
      return query.execute()
    }
    const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((x, y) => (x.id < y.id ? -1 : 1))

    /** Rows made behind the library's back, so only the call under test reaches the hooks. */
    const seed = async (...rows: { name: string; status?: string }[]) => {
      const made = await s.check
        .insertInto('projects')
        .values(rows.map((row) => ({ tenant_id: s.tenantId, ...row })))
        .returningAll()
        .execute()
      // In the order given (insert ... returning keeps the values' order).
      return made as Selectable<HookDB['projects']>[]
    }
    const expectCommonArgs = (args: Record<string, any>) => {
      expect(args.context).toEqual({ tenantId: s.tenantId, actorId: s.actorId, ip: null, userAgent: null, requestId: REQUEST_ID })
      expect(args.table).toBe('projects')
      expect(typeof args.tx.repo).toBe('function')
    }

    beforeEach(() => {
      s = setup()
      s.recorder.calls = []
      s.recorder.behaviour = {}
    })

    it('calls beforeCreate and afterCreate once per row with the context, the transaction and the table', async () => {
      const created = await projects().createMany([{ name: 'create-1' }, { name: 'create-2' }])
      expect(s.recorder.calls.map((c) => c.hook)).toEqual(['beforeCreate', 'beforeCreate', 'afterCreate', 'afterCreate'])
      expect(s.recorder.named('beforeCreate').map((c) => c.first.name)).toEqual(['create-1', 'create-2'])
      expect(s.recorder.named('afterCreate').map((c) => c.first)).toEqual(created)
      for (const call of s.recorder.calls) expectCommonArgs(call.args)
      expect(s.recorder.named('afterCreate')[0]!.first.created_at).toBeInstanceOf(Date)
      expect(await stored(created[1]!.id)).toMatchObject({ name: 'create-2', tenant_id: s.tenantId })
    })

    it('applies a replacement from beforeCreate, and still refuses a column the table does not have', async () => {
      s.recorder.behaviour.beforeCreate = (input) => ({ ...input, name: input.name.toUpperCase(), status: 'paused' })
      const row = await projects().create({ name: 'replaced' })
      expect(await stored(row.id)).toMatchObject({ name: 'REPLACED', status: 'paused', tenant_id: s.tenantId })

      s.recorder.behaviour.beforeCreate = (input) => ({ ...input, colour: 'red' })
      const error = await projects()
        .create({ name: 'unknown-column' })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'VALIDATION', column: 'colour' })
      expect(await s.check.selectFrom('projects').select('id').where('name', '=', 'unknown-column').execute()).toEqual([])
    })

    it('hands afterUpdate the changed rows and, aligned, the same rows as they were (update and updateMany)', async () => {
      const [a, b, c] = await seed({ name: 'u-a', status: 'active' }, { name: 'u-b', status: 'paused' }, { name: 'u-c', status: 'active' })
      const updated = await projects().update(a!.id, { name: 'u-a2' })
      expect(Object.keys(updated).sort()).toEqual(Object.keys(a!).sort())
      const [single] = s.recorder.named('afterUpdate')
      expectCommonArgs(single!.args)
      expect(single!.first).toEqual([updated])
      expect(single!.args.before).toEqual([a])
      expect(single!.args.before[0].updated_at).toBeInstanceOf(Date)

      s.recorder.calls = []
      const a2 = await stored(a!.id)
      await projects().updateMany({ id: [a!.id, b!.id, c!.id] }, { status: 'archived' })
      const [bulk] = s.recorder.named('afterUpdate')
      const rows = bulk!.first as Record<string, any>[]
      const before = bulk!.args.before as Record<string, any>[]
      expect(rows).toHaveLength(3)
      expect(before).toHaveLength(3)
      const was = new Map([
        [a!.id, a2],
        [b!.id, b],
        [c!.id, c],
      ])
      rows.forEach((row, i) => {
        expect(row.status).toBe('archived')
        expect(before[i]).toEqual(was.get(row.id))
        expect(Object.keys(row).some((key) => key.startsWith('__tenantry'))).toBe(false)
      })
    })

    it('hands beforeUpdate the ids and the matched rows, and applies its replacement patch, still validated', async () => {
      const [a, b] = await seed({ name: 'bu-a' }, { name: 'bu-b' })
      s.recorder.behaviour.beforeUpdate = (patch) => ({ ...patch, status: 'paused' })
      await projects().update(a!.id, { name: 'bu-a2' })
      const [single] = s.recorder.named('beforeUpdate')
      expectCommonArgs(single!.args)
      expect(single!.first).toEqual({ name: 'bu-a2' })
      expect(single!.args.ids).toEqual([a!.id])
      expect(single!.args.before).toEqual([a])
      expect(await stored(a!.id)).toMatchObject({ name: 'bu-a2', status: 'paused' })

      s.recorder.calls = []
      s.recorder.behaviour.beforeUpdate = undefined
      await projects().updateMany({ name: ['bu-a2', 'bu-b'] }, { budget: 5 })
      const [bulk] = s.recorder.named('beforeUpdate')
      expect(bulk!.args.ids).toBeNull()
      expect((bulk!.args.before as { id: string }[]).map((row) => row.id)).toEqual(byId([a!, b!]).map((row) => row.id))

      s.recorder.behaviour.beforeUpdate = () => ({ deleted_at: new Date() })
      const error = await projects()
        .update(b!.id, { name: 'managed' })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'VALIDATION', column: 'deleted_at' })
      expect(await stored(b!.id)).toMatchObject({ name: 'bu-b', deleted_at: null })
    })

    it('refuses a beforeUpdate replacement that moves the row to another tenant', async () => {
      const [a] = await seed({ name: 'move-me' })
      const other = await s.check
        .insertInto('tenantry.tenants')
        .values({ slug: `other-${s.mode}`, name: 'Other' })
        .returning('id')
        .executeTakeFirstOrThrow()
      s.recorder.behaviour.beforeUpdate = (patch) => ({ ...patch, tenant_id: other.id })
      const error = await projects()
        .update(a!.id, { name: 'moved' })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'FORBIDDEN', column: 'tenant_id' })
      expect(await stored(a!.id)).toMatchObject({ name: 'move-me', tenant_id: s.tenantId })
      expect(await audits('projects.update', 'denied', a!.id)).toEqual([{ error_code: 'FORBIDDEN', resource_id: a!.id, request_id: REQUEST_ID }])

      s.recorder.behaviour.beforeUpdate = (patch) => ({ ...patch, tenant_id: s.tenantId.toUpperCase() })
      await projects().update(a!.id, { name: 'stays' })
      expect(await stored(a!.id)).toMatchObject({ name: 'stays', tenant_id: s.tenantId })
    })

    it('hands the delete hooks ids, kind and the rows as they were, for softDelete, softDeleteMany and purge, and none to restore', async () => {
      const [a, b, c] = await seed({ name: 'd-a' }, { name: 'd-b' }, { name: 'd-c' })
      const deleted = await projects().softDelete(a!.id)
      const [beforeSoft] = s.recorder.named('beforeDelete')
      const [afterSoft] = s.recorder.named('afterDelete')
      expectCommonArgs(beforeSoft!.args)
      expectCommonArgs(afterSoft!.args)
      expect(beforeSoft!.first).toEqual([a!.id])
      expect(beforeSoft!.args).toMatchObject({ kind: 'soft', before: [a] })
      expect(afterSoft!.first).toEqual([deleted])
      expect(afterSoft!.args).toMatchObject({ kind: 'soft', before: [a] })
      expect(deleted.deleted_at).toBeInstanceOf(Date)

      s.recorder.calls = []
      await projects().restore(a!.id)
      expect(s.recorder.calls).toEqual([])

      await projects().softDeleteMany({ id: [b!.id, c!.id] })
      const [beforeMany] = s.recorder.named('beforeDelete')
      const [afterMany] = s.recorder.named('afterDelete')
      expect(beforeMany!.first).toBeNull()
      // The before hooks see the matched rows in primary-key order (the order they are locked in).
      expect(beforeMany!.args.before).toEqual(byId([b!, c!]))
      const rows = afterMany!.first as Record<string, any>[]
      rows.forEach((row, i) => {
        expect(row.deleted_at).toBeInstanceOf(Date)
        expect(afterMany!.args.before[i]).toEqual(row.id === b!.id ? b : c)
      })

      s.recorder.calls = []
      const live = (await stored(a!.id))!
      const purged = await projects().purge(a!.id)
      const [beforePurge] = s.recorder.named('beforeDelete')
      const [afterPurge] = s.recorder.named('afterDelete')
      expect(beforePurge!.first).toEqual([a!.id])
      expect(beforePurge!.args).toMatchObject({ kind: 'purge', before: [live] })
      expect(afterPurge!.first).toEqual([purged])
      expect(afterPurge!.args).toMatchObject({ kind: 'purge', before: [live] })
      expect(await stored(a!.id)).toBeUndefined()
    })

    const throwing: { hook: HookName; action: string; write: (ids: string[]) => Promise<unknown>; unchanged: Record<string, unknown> }[] = [
      { hook: 'beforeCreate', action: 'projects.create', write: () => projects().create({ name: 'thrown-create' }), unchanged: {} },
      { hook: 'afterCreate', action: 'projects.create', write: () => projects().create({ name: 'thrown-create' }), unchanged: {} },
      { hook: 'beforeUpdate', action: 'projects.update', write: ([id]) => projects().update(id!, { name: 'thrown' }), unchanged: { name: 'keep' } },
      { hook: 'afterUpdate', action: 'projects.update', write: ([id]) => projects().update(id!, { name: 'thrown' }), unchanged: { name: 'keep' } },
      { hook: 'beforeDelete', action: 'projects.softDelete', write: ([id]) => projects().softDelete(id!), unchanged: { deleted_at: null } },
      { hook: 'afterDelete', action: 'projects.purge', write: ([id]) => projects().purge(id!), unchanged: { name: 'keep' } },
    ]
    for (const { hook, action, write, unchanged } of throwing) {
      it(`rolls the write back and leaves a failure audit row when ${hook} throws, with what it wrote through tx`, async () => {
        const [row] = await seed({ name: 'keep' })
        s.recorder.behaviour[hook] = async (_first: unknown, { tx }: { tx: TransactionScope }) => {
          await tx.repo('notes').create({ body: `${hook}-rolled-back` })
          throw new Error(`${hook} refused`)
        }
        await expect(write([row!.id])).rejects.toThrow(`${hook} refused`)
        expect(await stored(row!.id)).toMatchObject(unchanged)
        expect(await s.check.selectFrom('projects').select('id').where('name', 'in', ['thrown-create', 'thrown']).execute()).toEqual([])
        expect(await s.check.selectFrom('notes').select('id').where('body', '=', `${hook}-rolled-back`).execute()).toEqual([])
        const failures = await audits(action, 'failure', hook.endsWith('Create') ? undefined : row!.id)
        expect(failures.length).toBeGreaterThanOrEqual(1)
        expect(failures.at(-1)).toMatchObject({ error_code: 'ERROR', request_id: REQUEST_ID })
      })
    }

    it('commits what a hook writes through tx together with the write', async () => {
      s.recorder.behaviour.afterCreate = async (row: { id: string }, { tx }: { tx: TransactionScope }) => {
        await tx.repo('notes').create({ body: `made ${row.id}` })
      }
      const row = await projects().create({ name: 'with-note' })
      const notes = await s.check.selectFrom('notes').select(['body', 'tenant_id']).where('body', '=', `made ${row.id}`).execute()
      expect(notes).toEqual([{ body: `made ${row.id}`, tenant_id: s.tenantId }])
      expect(await audits('notes.create', 'success')).not.toEqual([])
    })

    it('keeps a status history from afterUpdate with args.before, in the same transaction, with no second read', async () => {
      s.recorder.behaviour.afterUpdate = async (rows: HookDB['projects'][], { before, tx }: { before: typeof rows; tx: TransactionScope }) => {
        const changes = rows.flatMap((row, i) =>
          row.status === before[i]!.status ? [] : [{ project_id: row.id, from_status: before[i]!.status, to_status: row.status, from_name: before[i]!.name }],
        )
        if (changes.length > 0) await tx.repo('history').createMany(changes)
      }
      const [a, b] = await seed({ name: 'h-a', status: 'active' }, { name: 'h-b', status: 'paused' })
      await projects().update(a!.id, { status: 'paused', name: 'h-a2' })
      await projects().update(a!.id, { name: 'h-a3' })
      await projects().updateMany({ id: [a!.id, b!.id] }, { status: 'archived' })
      const history = await s.check
        .selectFrom('project_history')
        .select(['tenant_id', 'project_id', 'from_status', 'to_status', 'from_name'])
        .where('project_id', 'in', [a!.id, b!.id])
        .orderBy('id')
        .execute()
      const mine = (rows: typeof history, id: string) => rows.filter((row) => row.project_id === id)
      expect(mine(history, a!.id)).toEqual([
        { tenant_id: s.tenantId, project_id: a!.id, from_status: 'active', to_status: 'paused', from_name: 'h-a' },
        { tenant_id: s.tenantId, project_id: a!.id, from_status: 'paused', to_status: 'archived', from_name: 'h-a3' },
      ])
      expect(mine(history, b!.id)).toEqual([{ tenant_id: s.tenantId, project_id: b!.id, from_status: 'paused', to_status: 'archived', from_name: 'h-b' }])

      s.recorder.behaviour.beforeUpdate = () => {
        throw new Error('no more changes')
      }
      await expect(projects().update(b!.id, { status: 'active' })).rejects.toThrow('no more changes')
      expect(await s.check.selectFrom('project_history').select('id').where('project_id', '=', b!.id).execute()).toHaveLength(1)
    })
  })
}
