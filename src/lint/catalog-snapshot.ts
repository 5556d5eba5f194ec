import { sql, type Kysely } from 'kysely'

export interface CatalogColumn {
  num: number
  name: string
  /** `quote_ident(name)`. */
  quoted: string
  type: string
  notNull: boolean
}

export interface CatalogIndex {
  name: string
  quoted: string
  unique: boolean
  primary: boolean
  /** Attribute numbers of the key columns, in order; `0` for an expression column. */
  keys: number[]
  /** `pg_get_indexdef(index, k)` of each key column: the column name or the expression. */
  keyDefinitions: string[]
  /** `pg_get_expr(indpred)`, or `null` for a full index. */
  predicate: string | null
  /** `pg_get_indexdef(index)`: `CREATE UNIQUE INDEX ... USING btree (...) ...`. */
  definition: string
  /** The unique or primary-key constraint the index backs, if any. */
  constraint: { name: string; quoted: string; type: 'p' | 'u' | 'x' } | null
}

export interface CatalogForeignKey {
  name: string
  quoted: string
  columns: number[]
  refOid: number
  refColumns: number[]
  /** `pg_get_constraintdef`: `FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`. */
  definition: string
}

export interface CatalogPolicy {
  name: string
  /** `pg_get_expr(polqual)`. */
  using: string | null
}

/** One table as the catalog describes it. */
export interface CatalogTable {
  oid: number
  schema: string
  table: string
  /** `format('%I.%I')`, ready for SQL. */
  qualified: string
  /** `quote_ident(schema)`. */
  quotedSchema: string
  /** Asked for or discovered (not only referenced by one that is). */
  linted: boolean
  rowSecurity: boolean
  forceRowSecurity: boolean
  columns: CatalogColumn[]
  indexes: CatalogIndex[]
  foreignKeys: CatalogForeignKey[]
  policies: CatalogPolicy[]
}

export interface CatalogSnapshot {
  tables: CatalogTable[]
  serverVersion: number
  citusInstalled: boolean
}

export interface SnapshotRequest {
  tables: { schema: string; table: string }[]
  /**
   * Also return every table outside the system schemas that has a column named this, or
   * tenantry's tenant policy (what the CLI lints when it has no declared tables).
   */
  discoverByColumn: string | null
  /** The tenant policy's name, for discovery. */
  policyName: string
}

/**
 * Reads everything the lint needs in one round trip: the asked-for (and discovered) tables and the
 * tables their foreign keys reference, with columns, indexes, foreign keys and policies.
 */
export async function readCatalogSnapshot(db: Kysely<any>, request: SnapshotRequest): Promise<CatalogSnapshot> {
  const discover = request.discoverByColumn !== null
  const { rows } = await sql<{ tables: CatalogTable[] | null; server_version: number; citus: boolean }>`
    with wanted as (
      select c.oid
        from unnest(${request.tables.map((t) => t.schema)}::text[], ${request.tables.map((t) => t.table)}::text[]) as w (schema, "table")
        join pg_namespace n on n.nspname = w.schema
        join pg_class c on c.relnamespace = n.oid and c.relname = w."table" and c.relkind in ('r', 'p')
      union
      select c.oid
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
       where ${discover} and c.relkind in ('r', 'p') and not c.relispartition
         and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'
         and (exists (select 1 from pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attname = ${request.discoverByColumn ?? ''})
              or exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = ${request.policyName}))
    ),
    rels as (
      select oid, true as linted from wanted
      union
      select distinct con.confrelid, false from pg_constraint con
       where con.contype = 'f' and con.conrelid in (select oid from wanted) and con.confrelid not in (select oid from wanted)
    )
    select (select current_setting('server_version_num')::int) as server_version,
           exists (select 1 from pg_extension where extname = 'citus') as citus,
           (select jsonb_agg(jsonb_build_object(
              'oid', c.oid::int8,
              'schema', n.nspname,
              'table', c.relname,
              'qualified', format('%I.%I', n.nspname, c.relname),
              'quotedSchema', quote_ident(n.nspname),
              'linted', r.linted,
              'rowSecurity', c.relrowsecurity,
              'forceRowSecurity', c.relforcerowsecurity,
              'columns', coalesce((
                 select jsonb_agg(jsonb_build_object('num', a.attnum, 'name', a.attname, 'quoted', quote_ident(a.attname),
                                                     'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull) order by a.attnum)
                   from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]'),
              'indexes', coalesce((
                 select jsonb_agg(jsonb_build_object(
                          'name', ic.relname, 'quoted', quote_ident(ic.relname),
                          'unique', i.indisunique, 'primary', i.indisprimary,
                          'keys', array(select k from unnest(i.indkey::int2[]) with ordinality as u (k, o) where o <= i.indnkeyatts order by o),
                          'keyDefinitions', array(select pg_get_indexdef(i.indexrelid, g, true) from generate_series(1, i.indnkeyatts) as g order by g),
                          'predicate', pg_get_expr(i.indpred, i.indrelid),
                          'definition', pg_get_indexdef(i.indexrelid),
                          'constraint', (select jsonb_build_object('name', k.conname, 'quoted', quote_ident(k.conname), 'type', k.contype)
                                           from pg_constraint k where k.conindid = i.indexrelid and k.conrelid = c.oid and k.contype in ('p', 'u', 'x')
                                           limit 1)
                        ) order by ic.relname)
                   from pg_index i join pg_class ic on ic.oid = i.indexrelid
                  where i.indrelid = c.oid and i.indisvalid), '[]'),
              'foreignKeys', coalesce((
                 select jsonb_agg(jsonb_build_object(
                          'name', f.conname, 'quoted', quote_ident(f.conname),
                          'columns', f.conkey, 'refOid', f.confrelid::int8, 'refColumns', f.confkey,
                          'definition', pg_get_constraintdef(f.oid)
                        ) order by f.conname)
                   from pg_constraint f where f.conrelid = c.oid and f.contype = 'f'), '[]'),
              'policies', coalesce((
                 select jsonb_agg(jsonb_build_object('name', p.polname, 'using', pg_get_expr(p.polqual, p.polrelid)) order by p.polname)
                   from pg_policy p where p.polrelid = c.oid), '[]')
            ) order by n.nspname, c.relname)
              from rels r join pg_class c on c.oid = r.oid join pg_namespace n on n.oid = c.relnamespace) as tables`.execute(db)
  const row = rows[0]!
  return { tables: row.tables ?? [], serverVersion: row.server_version, citusInstalled: row.citus }
}
