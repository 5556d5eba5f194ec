import { sql, type Kysely } from 'kysely'
import { citusTableName, type CitusTarget } from './citus-targets.js'

/**
 * Foreign keys between tables that are distributed in one run. Citus refuses to distribute a table
 * that a local table references ("foreign keys from reference tables and local tables to
 * distributed tables are not supported"), and a table that references a local one: of two tenant
 * tables linked by a key, neither can go first. So the keys between them are dropped, both tables
 * distributed, and the keys added back (Citus then checks them shard by shard), all in one
 * transaction: a failure leaves every table and key as it was.
 */

interface DetachedForeignKey {
  table: string
  name: string
  definition: string
}

/** The foreign keys whose table and referenced table are both among `targets`. */
async function foreignKeysBetween(db: Kysely<any>, targets: CitusTarget[]): Promise<DetachedForeignKey[]> {
  const names = targets.map(citusTableName)
  const { rows } = await sql<DetachedForeignKey>`
    select format('%I.%I', n.nspname, c.relname) as table, k.conname as name, pg_get_constraintdef(k.oid) as definition
      from pg_constraint k
      join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_class r on r.oid = k.confrelid join pg_namespace rn on rn.oid = r.relnamespace
     where k.contype = 'f' and format('%s.%s', n.nspname, c.relname) = any(${names}::text[])
       and format('%s.%s', rn.nspname, r.relname) = any(${names}::text[])
     order by 1, 2`.execute(db)
  return rows
}

/**
 * Runs `distribute` (the `create_distributed_table` calls for `targets`) with the foreign keys
 * between those tables dropped before and added back after, in one transaction; without such keys,
 * just runs it. Each key added back is listed in `changed`.
 *
 * @example
 * await withForeignKeysDetached(conn, pending, changed, async () => { for (const t of pending) await distributeOne(t) })
 */
export async function withForeignKeysDetached(db: Kysely<any>, targets: CitusTarget[], changed: string[], distribute: () => Promise<void>): Promise<void> {
  const keys = targets.length > 1 ? await foreignKeysBetween(db, targets) : []
  if (keys.length === 0) return distribute()
  await sql`begin`.execute(db)
  // In one transaction Citus must not open parallel connections per shard: the tables reference reference tables.
  await sql`set local citus.multi_shard_modify_mode to 'sequential'`.execute(db)
  try {
    for (const key of keys) await sql`alter table ${sql.raw(key.table)} drop constraint ${sql.id(key.name)}`.execute(db)
    await distribute()
    for (const key of keys) await sql`alter table ${sql.raw(key.table)} add constraint ${sql.id(key.name)} ${sql.raw(key.definition)}`.execute(db)
    await sql`commit`.execute(db)
  } catch (error) {
    await sql`rollback`.execute(db).catch(() => {})
    throw error
  }
  for (const key of keys) changed.push(`${key.table}: foreign key ${key.name} kept (dropped and added back around the distribution)`)
}
