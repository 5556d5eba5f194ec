import { sql, type Kysely } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { bundledTargets, qualifiedName, type RlsTarget } from './rls-targets.js'

/** The row-level security state of one table. */
export interface RlsTableStatus {
  /** `schema.table`. */
  table: string
  kind: RlsTarget['kind']
  exists: boolean
  /** `ENABLE ROW LEVEL SECURITY`. */
  enabled: boolean
  /** `FORCE ROW LEVEL SECURITY` (the owner is subject to the policies too). */
  forced: boolean
  /** Names of the policies on the table. */
  policies: string[]
}

export interface RlsStatus {
  /** `enabled`: every existing table is enabled, forced and has a tenantry policy. */
  state: 'enabled' | 'disabled' | 'partial'
  tables: RlsTableStatus[]
  /** The connected role (`current_user`). */
  role: string
  /** Superusers and `BYPASSRLS` roles are never subject to row-level security: use another role. */
  roleBypassesRls: boolean
}

function regclass(target: RlsTarget) {
  return sql`format('%I.%I', ${target.schema}::text, ${target.table}::text)::regclass`
}

async function existing(db: Kysely<any>, targets: RlsTarget[]): Promise<RlsTarget[]> {
  if (targets.length === 0) return []
  const { rows } = await sql<{ present: boolean[] }>`select array[${sql.join(
    targets.map((t) => sql`to_regclass(format('%I.%I', ${t.schema}::text, ${t.table}::text)) is not null`),
  )}] as present`.execute(db)
  return targets.filter((_, i) => rows[0]!.present[i])
}

/**
 * The tables, other than `known`, that carry a tenantry policy of this schema's tenantry: enabled
 * from code (`tenantry.rls.enable()` with declared tables), by `rls enable --table`, or with
 * `install_tenant_policy()`. A policy belongs to this schema's tenantry when its expression calls
 * this schema's `is_system()` (PostgreSQL records that dependency), so a second tenantry in another
 * schema keeps its own tables. Their policy is kept as it is: tenantry does not know their tenant
 * column, and needs not.
 */
async function policyTargets(db: Kysely<any>, schema: string, known: RlsTarget[]): Promise<RlsTarget[]> {
  const { rows } = await sql<{ schema: string; table: string }>`
    select distinct n.nspname::text as schema, c.relname::text as "table"
      from pg_policy p
      join pg_class c on c.oid = p.polrelid
      join pg_namespace n on n.oid = c.relnamespace
      join pg_depend d on d.classid = 'pg_policy'::regclass and d.objid = p.oid and d.refclassid = 'pg_proc'::regclass
     where p.polname like 'tenantry\_%'
       and d.refobjid = to_regprocedure(format('%I.is_system()', ${schema}::text))
     order by 1, 2`.execute(db)
  const isKnown = (row: { schema: string; table: string }) => known.some((t) => t.schema === row.schema && t.table === row.table)
  return rows.filter((row) => !isKnown(row)).map((row) => ({ ...row, kind: 'host', tenantColumn: KEEP_POLICY }))
}

/** The tenant column of a table found by its policy: the policy stays as it is. */
const KEEP_POLICY = ''

/** Bundled tables, then `hostTables`, then every other table that carries a tenantry policy. */
async function managedTargets(db: Kysely<any>, schema: string, hostTables: RlsTarget[]): Promise<RlsTarget[]> {
  const named = allTargets(schema, hostTables)
  return [...named, ...(await policyTargets(db, schema, named))]
}

/**
 * Installs the policies and turns row-level security on and FORCEd for the bundled tables,
 * `hostTables` and every other table that already carries a tenantry policy (one that `disable`
 * switched off, say), in one transaction (all or nothing). Needs the tables' owner (the migration role).
 */
export async function enableRowLevelSecurity(db: Kysely<any>, schema: string, hostTables: RlsTarget[]): Promise<RlsStatus> {
  await db.transaction().execute(async (trx) => {
    const targets = await managedTargets(trx, schema, hostTables)
    const present = await existing(trx, targets)
    const absent = targets.filter((t) => t.kind === 'host' && !present.includes(t))
    if (absent.length > 0) {
      throw new TenantryError('CONFIGURATION', `rls enable: no such table ${absent.map(qualifiedName).join(', ')}`)
    }
    await sql`select ${sql.id(schema, 'install_bundled_policies')}()`.execute(trx)
    for (const target of present) {
      if (target.kind === 'host' && target.tenantColumn !== KEEP_POLICY) {
        await sql`select ${sql.id(schema, 'install_tenant_policy')}(${regclass(target)}, ${target.tenantColumn}::text)`.execute(trx)
      }
      await sql`select ${sql.id(schema, 'enable_row_level_security')}(${regclass(target)})`.execute(trx)
    }
  })
  return rowLevelSecurityStatus(db, schema, hostTables)
}

/**
 * Turns row-level security off (NO FORCE, DISABLE) on the bundled tables, `hostTables` and every
 * other table that carries a tenantry policy, so that query mode sees rows everywhere again. The
 * policies stay, inert, so `enable` is quick to undo this.
 */
export async function disableRowLevelSecurity(db: Kysely<any>, schema: string, hostTables: RlsTarget[]): Promise<RlsStatus> {
  await db.transaction().execute(async (trx) => {
    for (const target of await existing(trx, await managedTargets(trx, schema, hostTables))) {
      await sql`select ${sql.id(schema, 'disable_row_level_security')}(${regclass(target)})`.execute(trx)
    }
  })
  return rowLevelSecurityStatus(db, schema, hostTables)
}

interface StatusRow {
  schema: string
  table: string
  enabled: boolean
  forced: boolean
  policies: string[]
}

/**
 * Reads the row-level security state of the bundled tables, `hostTables` and every other table that
 * carries a tenantry policy (two round trips: which tables, then their state).
 */
export async function rowLevelSecurityStatus(db: Kysely<any>, schema: string, hostTables: RlsTarget[]): Promise<RlsStatus> {
  const targets = await managedTargets(db, schema, hostTables)
  const { rows } = await sql<StatusRow & { exists: boolean; role: string; bypass: boolean }>`
    select w.schema, w."table", coalesce(c.relrowsecurity, false) as enabled, coalesce(c.relforcerowsecurity, false) as forced,
           coalesce(array(select p.polname::text from pg_policy p where p.polrelid = c.oid order by p.polname), '{}') as policies,
           c.oid is not null as exists, current_user::text as role,
           (select r.rolsuper or r.rolbypassrls from pg_roles r where r.rolname = current_user) as bypass
      from unnest(${targets.map((t) => t.schema)}::text[], ${targets.map((t) => t.table)}::text[]) with ordinality as w (schema, "table", ord)
      left join pg_namespace n on n.nspname = w.schema
      left join pg_class c on c.relnamespace = n.oid and c.relname = w."table"
     order by w.ord`.execute(db)
  const tables: RlsTableStatus[] = targets.map((target, i) => {
    const row = rows[i]
    return {
      table: qualifiedName(target),
      kind: target.kind,
      exists: row?.exists ?? false,
      enabled: row?.enabled ?? false,
      forced: row?.forced ?? false,
      policies: row?.policies ?? [],
    }
  })
  const present = tables.filter((t) => t.exists)
  const on = present.filter((t) => t.enabled && t.forced && t.policies.some((p) => p.startsWith('tenantry_')))
  const off = present.filter((t) => !t.enabled && !t.forced)
  const state = present.length > 0 && on.length === present.length ? 'enabled' : off.length === present.length ? 'disabled' : 'partial'
  return { state, tables, role: rows[0]?.role ?? '', roleBypassesRls: rows[0]?.bypass ?? false }
}

/** Bundled tables first, then host tables that are not bundled ones. */
function allTargets(schema: string, hostTables: RlsTarget[]): RlsTarget[] {
  const bundled = bundledTargets(schema)
  const isBundled = (t: RlsTarget) => bundled.some((b) => b.schema === t.schema && b.table === t.table)
  return [...bundled, ...hostTables.filter((t) => !isBundled(t))]
}
