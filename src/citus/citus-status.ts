import { sql, type Kysely } from 'kysely'
import { citusTableName, type CitusDistribution, type CitusTarget } from './citus-targets.js'

/** Where one table lives on the cluster. */
export interface CitusTableStatus {
  /** `schema.table`. */
  table: string
  kind: CitusTarget['kind']
  exists: boolean
  /** `local`: an ordinary table on the coordinator (also a Citus "local table" in its metadata). */
  distribution: CitusDistribution
  /** Distribution column of a `distributed` table. */
  column: string | null
  /** Co-location group of a distributed or reference table: equal ids join on one node. */
  colocationId: number | null
  /** Number of shards (1 for a reference table). */
  shards: number | null
  /** What `distribute()` makes of it. */
  target: CitusDistribution
  /** `distribution` (and, for distributed tables, `column`) is what `distribute()` makes of it. */
  ready: boolean
}

export interface CitusStatus {
  /** Whether the `citus` extension is installed in this database. */
  installed: boolean
  /** `citus_version` of the extension, e.g. `13.2.2`. */
  version: string | null
  /** Active worker nodes known to the coordinator. */
  workers: number
  tables: CitusTableStatus[]
  /** Every existing table is where `distribute()` puts it. */
  distributed: boolean
}

interface Row {
  exists: boolean
  partmethod: string | null
  repmodel: string | null
  colocationid: number | null
  column: string | null
  shards: number | null
}

/** Whether the citus extension is installed, and its version (one round trip). */
export async function citusExtension(db: Kysely<any>): Promise<string | null> {
  const { rows } = await sql<{ version: string | null }>`select (select extversion from pg_extension where extname = 'citus') as version`.execute(db)
  return rows[0]?.version ?? null
}

/** Reads where each target table lives. Two round trips; changes nothing. */
export async function readCitusStatus(db: Kysely<any>, targets: CitusTarget[]): Promise<CitusStatus> {
  const version = await citusExtension(db)
  if (version === null) {
    const { rows } = await sql<{ exists: boolean }>`
      select to_regclass(format('%I.%I', w.schema, w."table")) is not null as exists
        from unnest(${targets.map((t) => t.schema)}::text[], ${targets.map((t) => t.table)}::text[]) with ordinality as w (schema, "table", ord)
       order by w.ord`.execute(db)
    const tables = targets.map((t, i) =>
      status(t, { exists: rows[i]?.exists ?? false, partmethod: null, repmodel: null, colocationid: null, column: null, shards: null }),
    )
    return { installed: false, version: null, workers: 0, tables, distributed: false }
  }
  const { rows } = await sql<Row & { workers: number }>`
    select c.oid is not null as exists, p.partmethod::text, p.repmodel::text, p.colocationid,
           case when p.partmethod = 'h' then column_to_column_name(p.logicalrelid, p.partkey) end as column,
           (select count(*)::int from pg_dist_shard s where s.logicalrelid = c.oid) as shards,
           (select count(*)::int from pg_dist_node d where d.noderole = 'primary' and d.isactive and d.groupid <> 0) as workers
      from unnest(${targets.map((t) => t.schema)}::text[], ${targets.map((t) => t.table)}::text[]) with ordinality as w (schema, "table", ord)
      left join pg_class c on c.oid = to_regclass(format('%I.%I', w.schema, w."table"))
      left join pg_dist_partition p on p.logicalrelid = c.oid
     order by w.ord`.execute(db)
  const tables = targets.map((t, i) => status(t, rows[i]!))
  const present = tables.filter((t) => t.exists)
  return { installed: true, version, workers: rows[0]?.workers ?? 0, tables, distributed: present.length > 0 && present.every((t) => t.ready) }
}

function status(target: CitusTarget, row: Row): CitusTableStatus {
  const distribution: CitusDistribution = row.partmethod === 'h' ? 'distributed' : row.partmethod === 'n' && row.repmodel === 't' ? 'reference' : 'local'
  const placed = distribution !== 'local'
  return {
    table: citusTableName(target),
    kind: target.kind,
    exists: row.exists,
    distribution,
    column: distribution === 'distributed' ? row.column : null,
    colocationId: placed ? row.colocationid : null,
    shards: placed ? row.shards : null,
    target: target.target,
    ready: distribution === target.target && (target.target !== 'distributed' || row.column === target.column),
  }
}
