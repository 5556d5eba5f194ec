import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, type Tenantry } from '../../src/index.js'
import { useFileDatabase } from '../support/test-database.js'

/**
 * `changed_fields` of updates is exactly the set of columns whose value differs between the audit
 * row's old and new values (`updated_at` left out), whichever way the change came about: the
 * columns the call set, a stored generated column that follows them, or a host trigger that
 * changes columns the call never named.
 */

const fileDb = await useFileDatabase()
let tenantry: Tenantry<any>
let tenantId: string

const tables = {
  gadgets: defineTable<any, 'gadgets'>({
    table: 'gadgets',
    tenantColumn: 'tenant_id',
    softDelete: { flag: 'archived', deletedWhen: true, timestamp: 'archived_at' },
  }),
  widgets: defineTable<any, 'widgets'>({ table: 'widgets', tenantColumn: 'tenant_id', softDelete: 'deleted_at' }),
}

beforeAll(async () => {
  await sql`
    create table gadgets (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      label text not null,
      size integer not null default 1,
      colour text,
      label_upper text generated always as (upper(label)) stored,
      archived boolean not null default false,
      archived_at timestamptz,
      updated_at timestamptz not null default now()
    );
    select tenantry.install_updated_at_trigger('gadgets');
    create table widgets (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      name text not null,
      revision integer not null default 0,
      touched_by text,
      deleted_at timestamptz
    );
    create function widgets_bump() returns trigger language plpgsql as $$
    begin
      new.revision := old.revision + 1;
      new.touched_by := 'trigger';
      return new;
    end $$;
    create trigger widgets_bump before update on widgets for each row execute function widgets_bump();`.execute(fileDb.db)
  tenantry = createTenantry<any>({ pool: fileDb.pool, tables })
  tenantId = (await tenantry.asSystem({ reason: 'test setup' }).tenants.create({ slug: 'changed-fields', name: 'Changed fields' })).id
})

const scope = () => tenantry.withContext({ tenantId, actorId: randomUUID() })

async function audits(resourceId: string) {
  return fileDb.db
    .selectFrom('tenantry.audit_logs')
    .select(['action', 'changed_fields', 'old_values', 'new_values'])
    .where('resource_id', '=', resourceId)
    .where('action', 'not like', '%.create')
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

/** The columns whose value differs between old and new values, computed independently in SQL. */
async function differingColumns(resourceId: string) {
  const { rows } = await sql<{ diff: string[] }>`
    select array(select e.key from jsonb_each(a.new_values) as e
                  where e.key <> 'updated_at' and e.value is distinct from a.old_values -> e.key order by e.key collate "C") as diff
      from tenantry.audit_logs a
     where a.resource_id = ${resourceId} and a.action not like '%.create'
     order by a.created_at, a.id`.execute(fileDb.db)
  return rows.map((r) => r.diff)
}

describe('changed_fields of updates', () => {
  it('lists the set columns whose value changed, sorted, and not those set to the value they had', async () => {
    const gadget = await scope().repo('gadgets').create({ label: 'bolt', size: 2 })
    await scope().repo('gadgets').update(gadget.id, { size: 2, colour: 'red' })
    await scope().repo('gadgets').update(gadget.id, { size: 2 })
    const rows = await audits(gadget.id)
    expect(rows.map((r) => r.changed_fields)).toEqual([['colour'], []])
    expect(await differingColumns(gadget.id)).toEqual(rows.map((r) => r.changed_fields))
  })

  it('lists a stored generated column that follows a set column', async () => {
    const gadget = await scope().repo('gadgets').create({ label: 'nut' })
    await scope().repo('gadgets').update(gadget.id, { label: 'washer', size: 5 })
    const [row] = await audits(gadget.id)
    expect(row!.changed_fields).toEqual(['label', 'label_upper', 'size'])
    expect(row!.new_values).toMatchObject({ label_upper: 'WASHER' })
    expect(await differingColumns(gadget.id)).toEqual([row!.changed_fields])
  })

  it('lists the flag and its timestamp of a soft delete and a restore', async () => {
    const gadget = await scope().repo('gadgets').create({ label: 'gear' })
    await scope().repo('gadgets').softDelete(gadget.id)
    await scope().repo('gadgets').restore(gadget.id)
    const rows = await audits(gadget.id)
    expect(rows.map((r) => [r.action, r.changed_fields])).toEqual([
      ['gadgets.softDelete', ['archived', 'archived_at']],
      ['gadgets.restore', ['archived', 'archived_at']],
    ])
    expect(await differingColumns(gadget.id)).toEqual(rows.map((r) => r.changed_fields))
  })

  it('lists the columns a host trigger changed besides the set ones, on every kind of update', async () => {
    const widgets = scope().repo('widgets')
    const widget = await widgets.create({ name: 'sprocket' })
    await widgets.update(widget.id, { name: 'cog' })
    await widgets.updateMany({ id: [widget.id] }, { name: 'cog' })
    await widgets.softDelete(widget.id)
    const rows = await audits(widget.id)
    expect(rows.map((r) => r.changed_fields)).toEqual([['name', 'revision', 'touched_by'], ['revision'], ['deleted_at', 'revision']])
    const stored = await fileDb.db.selectFrom('widgets').select(['revision', 'touched_by']).where('id', '=', widget.id).executeTakeFirstOrThrow()
    expect(stored).toEqual({ revision: 3, touched_by: 'trigger' })
    expect(await differingColumns(widget.id)).toEqual(rows.map((r) => r.changed_fields))
  })

  it('gives each row of an updateMany its own changed fields', async () => {
    const gadgets = scope().repo('gadgets')
    const [red, blue] = await gadgets.createMany([
      { label: 'red one', colour: 'red' },
      { label: 'blue one', colour: 'blue' },
    ])
    await gadgets.updateMany({ id: [red!.id, blue!.id] }, { colour: 'red' })
    expect((await audits(red!.id)).map((r) => r.changed_fields)).toEqual([[]])
    expect((await audits(blue!.id)).map((r) => r.changed_fields)).toEqual([['colour']])
  })
})
