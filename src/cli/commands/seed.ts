import { parseArgs } from 'node:util'
import pg from 'pg'
import { createTenantry } from '../../create-tenantry.js'
import { isTenantryError } from '../../errors/tenantry-error.js'
import { seedDemoData } from '../../testing/seed-demo-data.js'
import type { CommandIo } from '../command-io.js'
import { describeDatabaseError, parseDatabaseUrl } from '../database-url.js'


/** Exit codes: 0 done (or already there), 1 database error, 2 usage. */
export const SEED_EXIT = { ok: 0, error: 1, usage: 2 } as const

export const SEED_USAGE = `usage: tenantry seed --demo [--reset] [--no-sessions] [--schema <name>]

Loads the demo data set (an enterprise and a trial tenant, roles admin/operator/viewer, their
users and a consultant who belongs to both, one session per membership) into DATABASE_URL,
applying tenantry's migrations first.

  --demo          the demo data set (the only one so far; required so that nothing is seeded by accident)
  --reset         purge the demo tenants and users first, then load them again
  --no-sessions   do not open sessions (refresh tokens)
  --schema        Postgres schema of tenantry's tables (default: tenantry)`

/**
 * `tenantry seed --demo [--reset]`: migrates DATABASE_URL and loads the demo data set. Returns the exit code.
 *
 * @example
 * process.exitCode = await runSeedCommand(process.argv.slice(3), { env: process.env, stdout: console.log, stderr: console.error })
 */
export async function runSeedCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: { demo?: boolean; reset?: boolean; 'no-sessions'?: boolean; schema?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean' },
        reset: { type: 'boolean' },
        'no-sessions': { type: 'boolean' },
        schema: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    io.stderr(`tenantry seed: ${error instanceof Error ? error.message : String(error)}`)
    io.stderr(SEED_USAGE)
    return SEED_EXIT.usage
  }
  if (values.help) {
    io.stdout(SEED_USAGE)
    return SEED_EXIT.ok
  }
  if (!values.demo) {
    io.stderr('tenantry seed: say which data set to load (--demo)')
    io.stderr(SEED_USAGE)
    return SEED_EXIT.usage
  }
  const target = parseDatabaseUrl(io.env)
  if (typeof target === 'string') {
    io.stderr(`tenantry seed: ${target}`)
    return io.env.DATABASE_URL ? SEED_EXIT.error : SEED_EXIT.usage
  }

  const pool = new pg.Pool({ connectionString: target.url, max: 2 })
  pool.on('error', () => {})
  try {
    const tenantry = createTenantry({ pool, ...(values.schema ? { schema: values.schema } : {}) })
    const migrated = await tenantry.migrate()
    if (migrated.error) throw migrated.error
    if (migrated.results.length > 0) io.stdout(`applied ${migrated.results.length} migration(s) in schema "${tenantry.schema}"`)
    const result = await seedDemoData(tenantry, { reset: values.reset === true, sessions: !values['no-sessions'] })
    if (!result.seeded) {
      io.stdout(`demo data already present (tenants ${result.tenants.map((t) => t.slug).join(', ')}); run with --reset to load it again`)
      return SEED_EXIT.ok
    }
    for (const tenant of result.tenants) io.stdout(`tenant  ${tenant.slug.padEnd(16)} ${tenant.id}  ${tenant.name} (${tenant.type})`)
    for (const user of result.users) io.stdout(`user    ${user.email.padEnd(40)} ${user.id}`)
    io.stdout(
      `seeded ${result.tenants.length} tenants, ${result.roles.length} roles, ${result.users.length} users, ${result.sessionIds.length} sessions`,
    )
    return SEED_EXIT.ok
  } catch (error) {
    const reason = isTenantryError(error)
      ? error.message
      : (error as { code?: unknown }).code === '42501'
        ? 'permission denied: seed as a role that may create schemas and write tenantry\'s tables'
        : describeDatabaseError(error, target)
    io.stderr(`tenantry seed: ${reason}`)
    return SEED_EXIT.error
  } finally {
    await pool.end()
  }
}
