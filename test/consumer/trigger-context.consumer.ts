import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase, type AppDB } from './support/consumer-database.js'

const { pool, tenantry: plain, tenantId } = await useConsumerDatabase()
const tables = { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) }
const withContext = createTenantry<AppDB>({ pool, tables, triggerContext: true })

beforeAll(async () => {
  // A host trigger that stamps who acted, from the context settings tenantry sets (nullif: a pooled
  // connection reads a setting an earlier transaction made as '').
  await sql`alter table projects add column written_by text, add column written_in text;
    create function stamp_writer() returns trigger language plpgsql as $$
    begin
      new.written_by := nullif(current_setting('tenantry.actor_id', true), '');
      new.written_in := nullif(current_setting('tenantry.request_id', true), '');
      return new;
    end $$;
    create trigger projects_stamp_writer before insert or update on projects for each row execute function stamp_writer()`.execute(plain.kysely)
})

describe('context settings for host triggers, from the installed package', () => {
  it('reach a trigger in query mode with triggerContext, and stay unset without it', async () => {
    const actorId = randomUUID()
    const stamped = await withContext.withContext({ tenantId, actorId, requestId: 'req-42' }).repo('projects').create({ name: 'Stamped' })
    const unstamped = await plain.withContext({ tenantId, actorId, requestId: 'req-43' }).repo('projects').create({ name: 'Unstamped' })
    const { rows } = await pool.query('select id, written_by, written_in from projects where id = any($1) order by name', [[stamped.id, unstamped.id]])
    expect(rows).toEqual([
      { id: stamped.id, written_by: actorId, written_in: 'req-42' },
      { id: unstamped.id, written_by: null, written_in: null },
    ])
  })
})
