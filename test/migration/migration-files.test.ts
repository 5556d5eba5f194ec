import { describe, expect, it } from 'vitest'
import { isTenantryError } from '../../src/errors/tenantry-error.js'
import { readSqlMigrations, type MigrationFileSystem } from '../../src/migration/sql-migration-provider.js'

function folder(files: Record<string, string>): MigrationFileSystem {
  return {
    readdir: async () => Object.keys(files),
    readFile: async (path) => files[path.slice(path.lastIndexOf('/') + 1)] ?? '',
  }
}

describe('migration files', () => {
  it('refuses a migration without its down file with a typed CONFIGURATION error', async () => {
    const error = await readSqlMigrations(folder({ '0001_init.up.sql': 'select 1' }), '/m').catch((e: unknown) => e)
    expect(isTenantryError(error)).toBe(true)
    expect(error).toMatchObject({ code: 'CONFIGURATION', message: expect.stringContaining('0001_init.down.sql') })
  })

  it('reads up and down of each migration in order', async () => {
    const migrations = await readSqlMigrations(
      folder({ '0002_b.up.sql': 'b up', '0001_a.down.sql': 'a down', '0001_a.up.sql': 'a up', '0002_b.down.sql': 'b down' }),
      '/m',
    )
    expect(migrations).toEqual([
      { name: '0001_a', up: 'a up', down: 'a down' },
      { name: '0002_b', up: 'b up', down: 'b down' },
    ])
  })
})
