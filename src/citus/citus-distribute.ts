import { sql, type Kysely } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { readCitusStatus, type CitusStatus } from './citus-status.js'
import { withForeignKeysDetached } from './citus-foreign-keys.js'
import { distributeRoutedFunctions } from './citus-functions.js'
import { allCitusTargets, citusTableName, type CitusTarget } from './citus-targets.js'

export interface DistributeOptions {
  /**
   * An existing distributed table (`schema.table`) whose co-location group the tenant tables
   * join. Default: a group of their own, anchored on `audit_logs`.
   */
  colocateWith?: string
}

export interface DistributeResult {
  /** One line per change made, e.g. `tenantry.memberships: distributed by tenant_id`; empty when nothing was left to do. */
  changed: string[]
  status: CitusStatus
}

const TABLE_NAME = /^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/

/** A unique index (or primary key) that does not hold the distribution column. */
interface KeyWithoutColumn {
  index: string
  constraint: string | null
  primary: boolean
  columns: string[]
  definition: string
}

function refuse(message: string): TenantryError {
  return new TenantryError('CONFIGURATION', `citus distribute: ${message}`)
}

async function keysWithoutColumn(db: Kysely<any>, target: CitusTarget): Promise<KeyWithoutColumn[]> {
  const { rows } = await sql<KeyWithoutColumn>`
    select ic.relname as index, con.conname as constraint, i.indisprimary as primary,
           array(select a.attname::text from unnest(i.indkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord) as columns,
           pg_get_indexdef(i.indexrelid) as definition
      from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid and con.contype in ('p', 'u')
     where i.indrelid = to_regclass(format('%I.%I', ${target.schema}::text, ${target.table}::text)) and i.indisunique
       and not exists (select 1 from pg_attribute a
                        where a.attrelid = i.indrelid and a.attname = ${target.column} and a.attnum = any(i.indkey))
     order by ic.relname`.execute(db)
  return rows
}

/**
 * Citus needs the distribution column in every primary key and unique key. A bundled table's keys
 * get `tenant_id` in front (ids and selectors are random, so they stay unique in practice); the
 * single-node schema keeps its own keys, this runs only here, on a coordinator.
 */
async function addColumnToKeys(db: Kysely<any>, target: CitusTarget, keys: KeyWithoutColumn[], changed: string[]): Promise<void> {
  const table = sql.id(target.schema, target.table)
  const column = target.column!
  for (const key of keys) {
    const columns = sql.join([column, ...key.columns].map((c) => sql.id(c)))
    if (key.constraint) {
      // one subcommand per statement: Citus refuses several on a table already in its metadata
      await sql`alter table ${table} drop constraint ${sql.id(key.constraint)}`.execute(db)
      await sql`alter table ${table} add constraint ${sql.id(key.constraint)} ${sql.raw(key.primary ? 'primary key' : 'unique')} (${columns})`.execute(db)
    } else {
      const definition = key.definition.replace(/ USING (\w+) \(/, (_, method: string) => ` USING ${method} (${column}, `)
      await sql`drop index ${sql.id(target.schema, key.index)}`.execute(db)
      await sql.raw(definition).execute(db)
    }
    changed.push(`${citusTableName(target)}: ${key.constraint ?? key.index} now leads with ${column}`)
  }
}

/**
 * Turning a table into a Citus table keeps the original relation as its shard (`sessions_102008`)
 * and creates a new one under the old name. A function taking the old row type as an argument
 * (`tokens_audit(s sessions, ...)`) then belongs to the shard's type: it is made again on the
 * table's type, and the stale one dropped.
 */
async function rebindRowTypeArguments(db: Kysely<any>, schema: string, changed: string[]): Promise<void> {
  const { rows } = await sql<{ signature: string; definition: string; shards: string[] }>`
    select p.oid::regprocedure::text as signature, pg_get_functiondef(p.oid) as definition,
           -- pg_type, not pg_class: Citus hides shards from pg_class
           array(select ty.typname::text from unnest(p.proargtypes::oid[]) t join pg_type ty on ty.oid = t
                  where ty.typnamespace = p.pronamespace and ty.typrelid <> 0 and ty.typname ~ '_[0-9]+$'
                    and exists (select 1 from pg_dist_shard sh where sh.shardid = substring(ty.typname from '_([0-9]+)$')::bigint)) as shards
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = ${schema}`.execute(db)
  for (const fn of rows.filter((r) => r.shards.length > 0)) {
    const body = fn.definition.indexOf('AS $')
    let header = fn.definition.slice(0, body)
    for (const shard of fn.shards) header = header.replaceAll(`${schema}.${shard}`, `${schema}.${shard.replace(/_[0-9]+$/, '')}`)
    await sql.raw(header + fn.definition.slice(body)).execute(db)
    await sql.raw(`drop function ${fn.signature}`).execute(db)
    changed.push(`${fn.signature.replace(/\(.*/, '')}: argument types follow ${fn.shards.map((t) => t.replace(/_[0-9]+$/, '')).join(', ')}`)
  }
}

/**
 * Places the bundled tables and `hosts` on the cluster (see `bundledCitusTargets`): reference
 * tables, then the tenant tables distributed by their tenant column in one co-location group.
 * Idempotent: a table already in place is left alone. Refuses (CONFIGURATION) without Citus, off
 * the coordinator, with row-level security enabled, or when a host table's key lacks its tenant
 * column (`tenantry lint --citus` prints the fix).
 */
export async function distributeTables(db: Kysely<any>, schema: string, hosts: CitusTarget[], options: DistributeOptions = {}): Promise<DistributeResult> {
  if (options.colocateWith !== undefined && !TABLE_NAME.test(options.colocateWith)) {
    throw new TenantryError('VALIDATION', 'citus distribute: colocateWith expects schema.table (lower-case identifiers)')
  }
  const targets = allCitusTargets(schema, hosts)
  const before = await readCitusStatus(db, targets)
  if (!before.installed) throw refuse('the citus extension is not installed in this database (create extension citus, on the coordinator)')
  const missing = before.tables.filter((t, i) => !t.exists && targets[i]!.kind === 'host')
  if (missing.length > 0) throw refuse(`no such table ${missing.map((t) => t.table).join(', ')}`)
  if (before.distributed) {
    // a run that stopped right after placing the tables left the token functions to rebind
    const changed: string[] = []
    await rebindRowTypeArguments(db, schema, changed)
    await distributeRoutedFunctions(db, schema, changed)
    return { changed, status: before }
  }

  const changed: string[] = []
  await db.connection().execute(async (conn) => {
    const { rows } = await sql<{ coordinator: boolean; secured: string[] }>`
      select citus_is_coordinator() as coordinator,
             array(select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where c.relrowsecurity and (n.nspname, c.relname) in (select * from unnest(${targets.map((t) => t.schema)}::text[], ${targets.map((t) => t.table)}::text[]))
                    order by 1) as secured`.execute(conn)
    if (!rows[0]?.coordinator) throw refuse('connect to the coordinator (this node is not the Citus coordinator)')
    if (rows[0].secured.length > 0) {
      throw refuse(
        `row-level security is enabled on ${rows[0].secured.join(', ')}; tenantry's policies use subqueries, which Citus refuses on distributed tables (run tenantry rls disable, and use isolation: 'query' on Citus)`,
      )
    }
    const pending = targets.filter((_, i) => before.tables[i]!.exists && !before.tables[i]!.ready)
    for (const target of pending.filter((t) => t.kind === 'host')) {
      const keys = await keysWithoutColumn(conn, target)
      if (keys.length > 0) {
        throw refuse(
          `${citusTableName(target)} cannot be distributed by ${target.column}: ${keys.map((k) => `${k.primary ? 'primary key' : 'unique key'} ${k.constraint ?? k.index} (${k.columns.join(', ')})`).join(', ')} must hold ${target.column} (tenantry lint --citus prints the fix)`,
        )
      }
    }
    // The bundled triggers are safe on shards: set_updated_at only stamps NEW, and the append-only
    // guard of audit_logs only raises; neither reads another table (docs/scale-out.md).
    await sql`set citus.enable_unsafe_triggers = on`.execute(conn)
    try {
      // Inert policies (row-level security is off, checked above) would block distribution: they use
      // subqueries. All of them: a reference table pulls the tables that reference it into Citus too.
      for (const target of targets.filter((_, i) => before.tables[i]!.exists)) {
        await sql`select format('drop policy %I on %I.%I', p.polname, ${target.schema}::text, ${target.table}::text) as statement
                    from pg_policy p where p.polrelid = to_regclass(format('%I.%I', ${target.schema}::text, ${target.table}::text))
                     and p.polname like 'tenantry\\_%'`
          .execute(conn)
          .then(async ({ rows: drops }) => {
            for (const { statement } of drops as { statement: string }[]) await sql.raw(statement).execute(conn)
          })
      }
      for (const target of pending.filter((t) => t.kind === 'bundled' && t.target === 'distributed')) {
        await addColumnToKeys(conn, target, await keysWithoutColumn(conn, target), changed)
      }
      for (const target of pending.filter((t) => t.target === 'reference')) {
        await sql`select create_reference_table(${citusTableName(target)}::regclass)`.execute(conn)
        changed.push(`${citusTableName(target)}: reference table`)
      }
      const distributed = targets.filter((t) => t.target === 'distributed')
      const anchor = distributed[0]!
      const toDistribute = pending.filter((t) => t.target === 'distributed')
      await withForeignKeysDetached(conn, toDistribute, changed, async () => {
        for (const target of toDistribute) {
          const colocateWith = target === anchor ? (options.colocateWith ?? 'default') : citusTableName(anchor)
          try {
            await sql`select create_distributed_table(${citusTableName(target)}::regclass, ${target.column}::text, colocate_with => ${colocateWith}::text)`.execute(
              conn,
            )
          } catch (error) {
            // Citus names the table and the obstacle (a foreign key, a key, a type); never a row value.
            throw refuse(`${citusTableName(target)} by ${target.column}: ${(error as Error).message}`)
          }
          changed.push(
            `${citusTableName(target)}: distributed by ${target.column}, co-located with ${target === anchor ? (options.colocateWith ?? 'its own group') : citusTableName(anchor)}`,
          )
        }
      })
      await rebindRowTypeArguments(conn, schema, changed)
      await distributeRoutedFunctions(conn, schema, changed)
    } finally {
      await sql`reset citus.enable_unsafe_triggers`.execute(conn)
    }
  })
  return { changed, status: await readCitusStatus(db, targets) }
}
