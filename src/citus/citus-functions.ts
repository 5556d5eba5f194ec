import { sql, type Kysely } from 'kysely'

/**
 * tenantry's SQL functions that statements routed to the workers call, so every node needs them:
 * `reference_guard` (migration 0006) runs inside the writes of tables with declared references.
 * Citus creates a function on every node, and on nodes added later, once it is a distributed
 * object; it makes one so by itself when the function is created on a coordinator that already
 * has the extension. A function created before `create extension citus` (an install that moves to
 * a cluster) is not one: `distribute()` makes it one.
 */
const ROUTED_FUNCTIONS = ['reference_guard(boolean, text, text, text)']

/**
 * Makes each of `ROUTED_FUNCTIONS` in `schema` a distributed function when it is not one yet, and
 * lists it in `changed`. Idempotent; a function the migrations have not created yet is left alone
 * (its migration, run later on the coordinator, creates it on every node).
 *
 * @example
 * await distributeRoutedFunctions(db, 'tenantry', changed)
 */
export async function distributeRoutedFunctions(db: Kysely<any>, schema: string, changed: string[]): Promise<void> {
  for (const signature of ROUTED_FUNCTIONS) {
    const { rows } = await sql<{ name: string }>`
      select f.oid::regprocedure::text as name from (select to_regprocedure(quote_ident(${schema}) || '.' || ${signature}) as oid) f
       where f.oid is not null and not exists (select 1 from pg_dist_object where classid = 'pg_proc'::regclass and objid = f.oid)`.execute(db)
    const name = rows[0]?.name
    if (!name) continue
    await sql`select create_distributed_function(${name})`.execute(db)
    changed.push(`${name}: distributed function (created on every node)`)
  }
}
