import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import pg from 'pg'
import { createTenantry, defineTable, isTenantryError } from 'tenantry'
import { describe, expect, it } from 'vitest'
import { useConsumerDatabase, type AppDB } from './support/consumer-database.js'

const { pool, tenantry, tenantId } = await useConsumerDatabase()

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('faults, from the installed package', () => {
  it('a refused connection is a retryable TenantryError whose message holds no password', async () => {
    const unreachable = new pg.Pool({ connectionString: `postgres://app:s3cret-pw@127.0.0.1:${await closedPort()}/nowhere`, max: 1 })
    const offline = createTenantry<AppDB>({
      pool: unreachable,
      tables: { projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
    })
    const error = await offline
      .withContext({ tenantId })
      .repo('projects')
      .findMany()
      .catch((e: unknown) => e)
    expect(isTenantryError(error) && [error.code, error.retryable]).toEqual(['RETRYABLE', true])
    expect(JSON.stringify(error) + String(error)).not.toContain('s3cret-pw')
    await unreachable.end()
  })

  it('a backend terminated inside scope.transaction rejects with a TenantryError, the process lives, the pool serves on', async () => {
    const scope = tenantry.withContext({ tenantId, actorId: randomUUID() })
    const error = await scope
      .transaction(async (tx) => {
        await tx.repo('projects').create({ name: 'Doomed' })
        const { rows } = await pool.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = current_database() and state = 'idle in transaction'",
        )
        await pool.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [rows.map((r) => r.pid)])
        await new Promise((resolve) => setTimeout(resolve, 200))
        await tx.repo('projects').findMany()
      })
      .catch((e: unknown) => e)
    expect(isTenantryError(error)).toBe(true)
    const { rows } = await pool.query("select count(*)::int as n from projects where name = 'Doomed'")
    expect(rows).toEqual([{ n: 0 }])
    expect(await scope.repo('projects').create({ name: 'Survivor' })).toMatchObject({ name: 'Survivor' })
  })
})
