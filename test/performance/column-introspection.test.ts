import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadTableColumns } from '../../src/schema/table-introspection.js'
import type { TableModel } from '../../src/schema/table-model.js'
import { useFileDatabase } from '../support/test-database.js'

/**
 * The column read at start-up comes from the catalogs (information_schema.columns costs ~10 ms a
 * call): for every kind of column it must answer what information_schema answers, for the owner
 * and for a role that may use only some columns.
 */

const fileDb = await useFileDatabase()
const role = `tenantry_cols_${randomBytes(4).toString('hex')}`
let limited: Kysely<any>

function model(): TableModel {
  return {
    name: 'odd_columns',
    schema: 'public',
    table: 'odd_columns',
    primaryKey: 'id',
    tenantColumn: null,
    softDelete: { kind: 'none' },
    auditEnabled: false,
    redacted: [],
    definition: { table: 'odd_columns' },
    columns: new Map(),
  } as unknown as TableModel
}

async function informationSchema(db: Kysely<any>) {
  const { rows } = await sql<{ column_name: string; udt_name: string; is_nullable: string; has_default: boolean }>`
    select column_name, udt_name, is_nullable,
           (column_default is not null or is_identity = 'YES' or is_generated = 'ALWAYS') as has_default
      from information_schema.columns where table_schema = 'public' and table_name = 'odd_columns' order by ordinal_position`.execute(db)
  return rows.map((r) => ({ name: r.column_name, type: r.udt_name, nullable: r.is_nullable === 'YES', hasDefault: r.has_default }))
}

beforeAll(async () => {
  await sql`
    create domain positive_money as numeric(12, 2) not null check (value > 0);
    create domain maybe_label as text;
    create table odd_columns (
      id bigint generated always as identity primary key,
      gone text,
      price positive_money,
      label maybe_label,
      tags text[] not null default '{}',
      doc jsonb,
      total numeric generated always as (price * 2) stored,
      hidden text
    );
    alter table odd_columns drop column gone;
  `.execute(fileDb.db)
  const password = randomBytes(12).toString('hex')
  await sql`create role ${sql.id(role)} login password ${sql.lit(password)}`.execute(fileDb.db)
  await sql`grant usage on schema public to ${sql.id(role)}`.execute(fileDb.db)
  await sql`grant select (id, price, label, tags), insert (price) on odd_columns to ${sql.id(role)}`.execute(fileDb.db)
  const url = new URL(fileDb.url)
  url.username = role
  url.password = password
  limited = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString(), max: 1 }) }) })
})

afterAll(async () => {
  await limited?.destroy()
  await sql`drop owned by ${sql.id(role)}`.execute(fileDb.db)
  await sql`drop role if exists ${sql.id(role)}`.execute(fileDb.db)
})

describe('column introspection', () => {
  it('reads identity, domain, array, json, generated and dropped columns as information_schema does', async () => {
    const m = model()
    await loadTableColumns(fileDb.db, [m])
    const expected = await informationSchema(fileDb.db)
    expect([...m.columns.values()]).toEqual(expected)
    expect(m.columns.get('price')).toEqual({ name: 'price', type: 'numeric', nullable: false, hasDefault: false })
    expect(m.columns.has('gone')).toBe(false)
  })

  it('shows a role only the columns it may use', async () => {
    const m = model()
    await loadTableColumns(limited, [m])
    expect([...m.columns.keys()]).toEqual(['id', 'price', 'label', 'tags'])
    expect([...m.columns.values()]).toEqual(await informationSchema(limited))
  })
})
