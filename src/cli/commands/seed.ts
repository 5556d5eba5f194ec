import pg from 'pg'
import { createTenantry } from '../../create-tenantry.js'
import { seedDemoData } from '../../demo/seed-demo-data.js'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { DEFAULT_SCHEMA } from '../../migration/migrate.js'
import { UsageError } from '../command-args.js'
import { describeDatabaseError, readDatabaseTarget } from '../database-url.js'
import { defineCommand } from '../define-command.js'
import { EXIT } from '../exit-codes.js'
import { identifierOption } from '../sql-name-options.js'

export const SEED_USAGE = `usage: tenantry seed --demo [--reset] [--no-sessions] [--schema <name>]

Loads the demo data set (an enterprise and a trial tenant, roles admin/operator/viewer, their
users and a consultant who belongs to both, one session per membership) into DATABASE_URL,
applying tenantry's migrations first.

  --demo          the demo data set (the only one so far; required so that nothing is seeded by accident)
  --reset         purge the demo tenants and users first, then load them again
  --no-sessions   do not open sessions (refresh tokens)
  --schema        Postgres schema of tenantry's tables (default: tenantry)

Reads DATABASE_URL. Exit codes: 0 done (or already there), 1 failed, 2 usage.`

/**
 * `tenantry seed --demo [--reset]`: migrates DATABASE_URL and loads the demo data set. Returns the exit code.
 *
 * @example
 * process.exitCode = await runSeedCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export const runSeedCommand = defineCommand({
  name: 'seed',
  usage: SEED_USAGE,
  options: {
    demo: { type: 'boolean' },
    reset: { type: 'boolean' },
    'no-sessions': { type: 'boolean' },
    schema: { type: 'string' },
  },
  async run({ values }, io) {
    if (!values.demo) throw new UsageError('say which data set to load (--demo)')
    const schema = identifierOption(values.schema, '--schema', DEFAULT_SCHEMA)

    const target = readDatabaseTarget('seed', io)
    if (typeof target === 'number') return target
    const pool = new pg.Pool({ connectionString: target.url, max: 2 })
    pool.on('error', () => {})
    try {
      const tenantry = createTenantry({ pool, schema })
      const migrated = await tenantry.migrate()
      if (migrated.error) throw migrated.error
      if (migrated.results.length > 0) io.stdout(`applied ${migrated.results.length} migration(s) in schema "${tenantry.schema}"`)
      const result = await seedDemoData(tenantry, { reset: values.reset === true, sessions: !values['no-sessions'] })
      if (!result.seeded) {
        io.stdout(`demo data already present (tenants ${result.tenants.map((t) => t.slug).join(', ')}); run with --reset to load it again`)
        return EXIT.ok
      }
      for (const tenant of result.tenants) io.stdout(`tenant  ${tenant.slug.padEnd(16)} ${tenant.id}  ${tenant.name} (${tenant.type})`)
      for (const user of result.users) io.stdout(`user    ${user.email.padEnd(40)} ${user.id}`)
      io.stdout(`seeded ${result.tenants.length} tenants, ${result.roles.length} roles, ${result.users.length} users, ${result.sessionIds.length} sessions`)
      return EXIT.ok
    } catch (error) {
      const reason = isTenantryError(error)
        ? error.message
        : (error as { code?: unknown }).code === '42501'
          ? "permission denied: seed as a role that may create schemas and write tenantry's tables"
          : describeDatabaseError(error, target)
      io.stderr(`tenantry seed: ${reason}`)
      return EXIT.failed
    } finally {
      await pool.end()
    }
  },
})
