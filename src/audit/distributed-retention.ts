import { CompiledQuery, sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely'

/**
 * One retention batch on a distributed `audit_logs` (Citus), inside the caller's transaction.
 * Citus refuses `FOR UPDATE SKIP LOCKED` on distributed tables, so the batch is a plain delete of
 * the oldest rows by key; a concurrent prune waits for the rows it shares instead of skipping them.
 * The append-only trigger runs on the workers: `SET LOCAL` (not `set_config`) with
 * `citus.propagate_set_commands = 'local'` carries the retention setting to them.
 */
export async function pruneDistributedBatch(
  trx: Kysely<any>,
  table: RawBuilder<unknown>,
  inScope: RawBuilder<SqlBool>,
  olderThan: Date,
  batchSize: number,
): Promise<number> {
  await trx.executeQuery(CompiledQuery.raw("set local citus.propagate_set_commands = 'local'; set local tenantry.audit_retention = 'on'"))
  const result = await sql`delete from ${table} as a where ${inScope} and (a.tenant_id, a.id) in (
      select a.tenant_id, a.id from ${table} as a where a.created_at < ${olderThan} and ${inScope}
       order by a.created_at limit ${batchSize})`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}
