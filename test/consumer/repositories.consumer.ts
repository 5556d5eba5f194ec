import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'
import { describe, expect, it } from 'vitest'
import { useConsumerDatabase } from './support/consumer-database.js'

const { pool, tenantry, tenantId } = await useConsumerDatabase()
const actorId = randomUUID()
const projects = () => tenantry.withContext({ tenantId, actorId }).repo('projects')

describe('repositories, from the installed package', () => {
  it('migrated the bundled tables into the template this database was cloned from', async () => {
    const { rows } = await pool.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'tenantry' order by table_name`,
    )
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['tenants', 'users', 'audit_logs', 'refresh_tokens']))
  })

  it('creates a row with the tenant filled in and an audit row beside it', async () => {
    const created = await projects().create({ name: 'Apollo' })
    const { rows } = await pool.query('select tenant_id, name, deleted_at from projects where id = $1', [created.id])
    expect(rows).toEqual([{ tenant_id: tenantId, name: 'Apollo', deleted_at: null }])
    const audit = await pool.query('select action, outcome, actor_user_id from tenantry.audit_logs where resource_id = $1', [created.id])
    expect(audit.rows).toEqual([{ action: 'projects.create', outcome: 'success', actor_user_id: actorId }])
  })

  it('reads back, updates and soft-deletes through the repository', async () => {
    const repo = projects()
    const created = await repo.create({ name: 'Gemini' })
    expect(await repo.findById(created.id)).toMatchObject({ id: created.id, name: 'Gemini', tenant_id: tenantId })
    await repo.update(created.id, { name: 'Artemis' })
    await repo.softDelete(created.id)
    const { rows } = await pool.query('select name, deleted_at from projects where id = $1', [created.id])
    expect(rows[0]).toMatchObject({ name: 'Artemis', deleted_at: expect.any(Date) })
    expect((await repo.findMany()).map((p) => p.id)).not.toContain(created.id)
    expect((await repo.onlyDeleted().findMany()).map((p) => p.id)).toContain(created.id)
  })

  it('lists in changed_fields the columns a host trigger changed, besides the ones the update set', async () => {
    await sql`create table tickets (
        id uuid primary key default gen_random_uuid(),
        tenant_id uuid not null references tenantry.tenants (id),
        title text not null,
        revision integer not null default 0
      );
      create function tickets_revision() returns trigger language plpgsql as $$
      begin new.revision := old.revision + 1; return new; end $$;
      create trigger tickets_revision before update on tickets for each row execute function tickets_revision();`.execute(tenantry.kysely)
    const withTickets = createTenantry<any>({ pool, tables: { tickets: defineTable<any, 'tickets'>({ table: 'tickets' }) } })
    const tickets = withTickets.withContext({ tenantId, actorId }).repo('tickets')
    const ticket = await tickets.create({ title: 'Printer on fire' })
    await tickets.update(ticket.id, { title: 'Printer still on fire' })
    const { rows } = await pool.query("select changed_fields from tenantry.audit_logs where resource_id = $1 and action = 'tickets.update'", [ticket.id])
    expect(rows).toEqual([{ changed_fields: ['revision', 'title'] }])
  })
})
