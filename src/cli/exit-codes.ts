/**
 * The exit codes of every `tenantry` command, in one table so that a shell script can rely on
 * them: a command returns one of these and nothing else.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | done (`lint`: no findings; `rls status`: enabled everywhere) |
 * | 1 | failed (database unreachable or refusing, a migration failed, `DATABASE_URL` set but unusable), or `lint` found something |
 * | 2 | usage: unknown command, action or option, a missing value, `DATABASE_URL` not set |
 * | 3 | `rls status`: row-level security is not enabled on every table; `citus status`: not every table is distributed |
 *
 * @example
 * if (code === EXIT.usage) console.error('see tenantry --help')
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  /** `lint` reports findings with the code of a failure, so `tenantry lint && deploy` stops. */
  findings: 1,
  usage: 2,
  notEnabled: 3,
  notDistributed: 3,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
