import { sql, type Generated, type Kysely } from 'kysely'
import { defineTable } from '../../src/index.js'
import type { AppDB } from './host-schema.js'

/**
 * A host table whose own trigger stamps each written row with the context settings tenantry sets
 * (`tenantry.actor_id`, `tenantry.tenant_id`, `tenantry.system`, `tenantry.request_id`), as a host's "changed by" column
 * would. `nullif(..., '')`: a setting made earlier on the same connection reads as '' afterwards.
 */
export interface TriggerDB extends AppDB {
  tickets: {
    id: Generated<string>
    tenant_id: string
    title: string
    deleted_at: Date | null
    touched_by: Generated<string | null>
    touched_in_tenant: Generated<string | null>
    touched_by_system: Generated<string | null>
    touched_request: Generated<string | null>
  }
}

export const ticketTable = defineTable<TriggerDB, 'tickets'>({ table: 'tickets', softDelete: 'deleted_at' })

export async function createTicketTable(db: Kysely<any>): Promise<void> {
  await sql`
    create table tickets (
      id uuid primary key default gen_random_uuid(),
      tenant_id uuid not null references tenantry.tenants (id),
      title text not null,
      deleted_at timestamptz,
      touched_by uuid,
      touched_in_tenant uuid,
      touched_by_system text,
      touched_request text
    );
    create function stamp_ticket() returns trigger language plpgsql as $$
    begin
      new.touched_by := nullif(current_setting('tenantry.actor_id', true), '')::uuid;
      new.touched_in_tenant := nullif(current_setting('tenantry.tenant_id', true), '')::uuid;
      new.touched_by_system := nullif(current_setting('tenantry.system', true), '');
      new.touched_request := nullif(current_setting('tenantry.request_id', true), '');
      return new;
    end $$;
    create trigger tickets_stamp before insert or update on tickets for each row execute function stamp_ticket();`.execute(db)
}

/** What the trigger wrote on a ticket, read behind the library's back. */
export function stamp(db: Kysely<any>, id: string) {
  return db
    .selectFrom('tickets')
    .select(['title', 'touched_by', 'touched_in_tenant', 'touched_by_system', 'touched_request'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
}
