import { forbidden } from './scope-refusal.js'

/**
 * Which functions `scope.db` lets a query call. Kysely prints function names verbatim, and a
 * function runs with no tenant predicate of its own, so the policy fails closed:
 *
 * - refused always (also with `allowRawSql` or `allowFunctions`): functions that change session or
 *   transaction state, reach files, other databases or other sessions, or run a query given as
 *   text (`set_config`, `pg_*`, `lo_*`, `dblink*`, `*_to_xml*`, `ts_stat`, `ts_rewrite`,
 *   `setval`), every function in tenantry's own schema, and tenantry's function names unqualified
 *   (a search_path could reach them);
 * - schema-qualified names: only `pg_catalog.<allowed name>`, or a name listed in `allowFunctions`;
 * - unqualified names: the built-in list below (aggregates, window, string, math, date/time, JSON,
 *   array, range, text search, uuid), plus `allowFunctions`. With `allowRawSql` any name that is
 *   not refused passes (raw SQL could call it anyway).
 */

/** A function name as Kysely prints it: a plain, optionally schema-qualified, identifier. */
export const PLAIN_FUNCTION = /^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$/i

const REFUSED_PATTERNS: readonly RegExp[] = [
  /^set_config$/, // changes the row-level security context (tenantry.tenant_id, tenantry.system)
  /^pg_/, // files, advisory session locks, other backends, notifications, replication, statistics
  /^lo_|^lo(read|write)$/, // large objects belong to no tenant
  /^dblink/, // another connection, outside the scope
  /_to_xml|_to_xmlschema$/, // query_to_xml, table_to_xml, ...: run a query given as text, or dump a table
  /^ts_stat$|^ts_rewrite$/, // run a query given as text
  /^setval$/, // a sequence shared by every tenant
]

/** tenantry's own SQL functions (migrations/): never callable through a tenant-scoped handle. */
const TENANTRY_FUNCTIONS: readonly RegExp[] = [
  /^tokens_/,
  /^is_system$/,
  /^current_tenant_id$/,
  /^(install|drop)_.*polic(y|ies)$/,
  /^(enable|disable)_row_level_security$/,
  /^install_updated_at_trigger$/,
  /^set_updated_at$/,
  /^prune_audit_logs$/,
  /^audit_logs_append_only$/,
  /^permissions_are_valid$/,
]

const ALLOWED = new Set(
  `
  count sum avg min max every bool_and bool_or bit_and bit_or array_agg string_agg json_agg jsonb_agg
  json_object_agg jsonb_object_agg percentile_cont percentile_disc mode stddev stddev_pop stddev_samp
  variance var_pop var_samp corr covar_pop covar_samp
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
  coalesce nullif greatest least any all num_nulls num_nonnulls
  length char_length character_length octet_length bit_length lower upper initcap trim btrim ltrim rtrim
  lpad rpad concat concat_ws substring substr left right replace reverse repeat position strpos
  split_part starts_with format md5 sha224 sha256 sha384 sha512 encode decode translate ascii chr
  quote_ident quote_literal quote_nullable to_hex string_to_array array_to_string overlay normalize
  regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_like
  regexp_count regexp_instr regexp_substr
  abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div pi random
  width_bucket degrees radians gcd lcm scale
  now clock_timestamp statement_timestamp transaction_timestamp date_trunc date_part date_bin age
  make_date make_time make_timestamp make_timestamptz make_interval to_timestamp to_date to_char
  to_number justify_days justify_hours justify_interval isfinite timezone
  to_json to_jsonb row_to_json array_to_json json_build_object jsonb_build_object json_build_array
  jsonb_build_array json_object jsonb_object json_array_length jsonb_array_length json_each jsonb_each
  json_each_text jsonb_each_text json_extract_path jsonb_extract_path json_extract_path_text
  jsonb_extract_path_text json_object_keys jsonb_object_keys json_array_elements jsonb_array_elements
  json_array_elements_text jsonb_array_elements_text json_typeof jsonb_typeof jsonb_set jsonb_set_lax
  jsonb_insert jsonb_strip_nulls json_strip_nulls jsonb_pretty jsonb_path_exists jsonb_path_match
  jsonb_path_query jsonb_path_query_array jsonb_path_query_first json_populate_record
  jsonb_populate_record json_populate_recordset jsonb_populate_recordset json_to_record
  jsonb_to_record json_to_recordset jsonb_to_recordset
  array_length array_append array_prepend array_cat array_remove array_replace array_position
  array_positions array_dims array_lower array_upper array_ndims cardinality unnest array_fill trim_array
  generate_series generate_subscripts gen_random_uuid
  to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank ts_rank_cd
  ts_headline setweight strip tsvector_to_array array_to_tsvector
  isempty lower_inc upper_inc lower_inf upper_inf range_merge tstzrange tsrange daterange int4range
  int8range numrange
  `
    .split(/\s+/)
    .filter(Boolean),
)

export interface FunctionPolicy {
  /** Schema of the bundled tables and functions. */
  builtinSchema: string
  allowRawSql: boolean
  /** Lower-case names (as given, qualified or not) the host vouches for. */
  allowFunctions: ReadonlySet<string>
}

/** Throws `FORBIDDEN` naming the function unless `scope.db` may call it. */
export function checkFunctionCall(func: string, policy: FunctionPolicy, what = 'function'): void {
  const shown = func.slice(0, 60)
  if (!PLAIN_FUNCTION.test(func)) {
    if (policy.allowRawSql) return
    throw forbidden(`${what} name "${shown}" is not a plain identifier`)
  }
  const lower = func.toLowerCase()
  const [schema, name] = lower.includes('.') ? (lower.split('.') as [string, string]) : [null, lower]
  if (schema === policy.builtinSchema || (schema === null && TENANTRY_FUNCTIONS.some((p) => p.test(name)))) {
    throw forbidden(`${what} "${shown}" is one of tenantry's own functions; use tenantry's API (tokens, auditLog, rbac) instead`)
  }
  if ((schema === null || schema === 'pg_catalog') && REFUSED_PATTERNS.some((p) => p.test(name))) {
    throw forbidden(`${what} "${shown}" is refused: it can change session state or reach data outside the tenant scope`)
  }
  if (policy.allowFunctions.has(lower)) return
  if (schema !== null && schema !== 'pg_catalog') {
    throw forbidden(`${what} "${shown}" is schema-qualified; list it in scopedDb({ allowFunctions }) if it is safe for a tenant to call`)
  }
  if (policy.allowRawSql || ALLOWED.has(name)) return
  throw forbidden(
    `${what} "${shown}" is not on scope.db's list of allowed functions; list it in scopedDb({ allowFunctions }) if it is safe for a tenant to call`,
  )
}
