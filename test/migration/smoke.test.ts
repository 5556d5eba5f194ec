import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useFileDatabase } from '../support/test-database.js'

const fileDb = await useFileDatabase()

describe('template database', () => {
  it('has the bundled tables in the tenantry schema', async () => {
    const { rows } = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'tenantry' order by table_name`.execute(fileDb.db)
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['tenants', 'users', 'audit_logs']))
  })
})
