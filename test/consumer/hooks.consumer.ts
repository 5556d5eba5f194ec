import { sql, type Generated } from 'kysely'
import { createTenantry, defineTable } from 'tenantry'
import { beforeAll, describe, expect, it } from 'vitest'
import { useConsumerDatabase } from './support/consumer-database.js'

interface TicketDB {
  tickets: { id: Generated<string>; tenant_id: string; status: string }
  ticket_history: { id: Generated<number>; tenant_id: string; ticket_id: string; from_status: string; to_status: string }
}

const { pool, tenantId } = await useConsumerDatabase()
const tenantry = createTenantry<TicketDB>({
  pool,
  tables: {
    tickets: defineTable<TicketDB, 'tickets'>({
      table: 'tickets',
      hooks: {
        // A status history from the rows as they were: `before[i]` is `rows[i]` before the update.
        afterUpdate: async (rows, { before, tx }) => {
          const changes = rows.flatMap((row, i) =>
            row.status === before[i]!.status ? [] : [{ ticket_id: row.id, from_status: before[i]!.status, to_status: row.status }],
          )
          if (changes.length > 0) await tx.repo('history').createMany(changes)
        },
      },
    }),
    history: defineTable<TicketDB, 'ticket_history'>({ table: 'ticket_history' }),
  },
})

beforeAll(async () => {
  await sql`create table tickets (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenantry.tenants (id),
    status text not null
  );
  create table ticket_history (
    id bigserial primary key,
    tenant_id uuid not null references tenantry.tenants (id),
    ticket_id uuid not null,
    from_status text not null,
    to_status text not null
  )`.execute(tenantry.kysely)
})

describe('hooks, from the installed package', () => {
  it('hand afterUpdate the rows as they were, so a status history needs no second read', async () => {
    const tickets = tenantry.withContext({ tenantId }).repo('tickets')
    const [a, b] = await tickets.createMany([{ status: 'open' }, { status: 'open' }])
    await tickets.update(a!.id, { status: 'doing' })
    await tickets.updateMany({ id: [a!.id, b!.id] }, { status: 'done' })
    const { rows } = await pool.query('select ticket_id, from_status, to_status from ticket_history where tenant_id = $1 order by id', [tenantId])
    expect(rows.filter((r) => r.ticket_id === a!.id)).toEqual([
      { ticket_id: a!.id, from_status: 'open', to_status: 'doing' },
      { ticket_id: a!.id, from_status: 'doing', to_status: 'done' },
    ])
    expect(rows.filter((r) => r.ticket_id === b!.id)).toEqual([{ ticket_id: b!.id, from_status: 'open', to_status: 'done' }])
  })
})
