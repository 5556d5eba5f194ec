import { sql, type Expression, type RawBuilder } from 'kysely'
import { REQUEST } from './op-context.js'

/**
 * The audit insert a careful user writes by hand next to each change, in the same statement:
 * the same columns and values tenantry writes (old and new values, changed fields, request data).
 */

export const AUDIT_COLUMNS = [
  'tenant_id',
  'actor_user_id',
  'action',
  'resource_type',
  'resource_id',
  'old_values',
  'new_values',
  'changed_fields',
  'ip',
  'user_agent',
  'request_id',
  'outcome',
  'metadata',
] as const

/** Changed fields among the patched columns: the user knows which columns the patch touches. */
export function changedFieldsSql(after: string, before: string, patched: readonly string[]): RawBuilder<string[]> {
  const a = sql.ref(after)
  const b = sql.ref(before)
  return sql<string[]>`array(select k from unnest(${patched}::text[]) as k where to_jsonb(${a}) -> k is distinct from to_jsonb(${b}) -> k)`
}

/** The select list of the audit insert, for Kysely (`after`/`before` are CTE aliases). */
export function auditSelection(
  action: string,
  actorId: string,
  sources: { after: string; before: string | null; changed: Expression<string[]> | RawBuilder<string[]>; resourceType?: string },
) {
  const after = sql.ref(sources.after)
  return [
    sql`${after}.tenant_id`.as('tenant_id'),
    sql`${actorId}::uuid`.as('actor_user_id'),
    sql.lit(action).as('action'),
    sql.lit(sources.resourceType ?? 'projects').as('resource_type'),
    sql`${after}.id::text`.as('resource_id'),
    (sources.before ? sql`to_jsonb(${sql.ref(sources.before)})` : sql`null::jsonb`).as('old_values'),
    sql`to_jsonb(${after})`.as('new_values'),
    sql`${sources.changed}`.as('changed_fields'),
    sql`${REQUEST.ip}::inet`.as('ip'),
    sql`${REQUEST.userAgent}`.as('user_agent'),
    sql`${REQUEST.requestId}`.as('request_id'),
    sql.lit('success').as('outcome'),
    sql`'{}'::jsonb`.as('metadata'),
  ]
}

/**
 * The `audit` CTE of a hand-written update: one row per changed row, from the `changed` and
 * `target` CTEs (the rows after and before), with the changed fields among `patched`.
 */
export function updateAuditCte(action: string, actorId: string, patched: readonly string[], resourceType = 'projects') {
  return (qb: any) =>
    qb
      .insertInto('tenantry.audit_logs')
      .columns([...AUDIT_COLUMNS])
      .expression(
        qb
          .selectFrom('changed')
          .innerJoin('target', 'target.id', 'changed.id')
          .select(
            auditSelection(action, actorId, { after: 'changed', before: 'target', changed: changedFieldsSql('changed', 'target', patched), resourceType }),
          ),
      )
}

/** The same audit insert as SQL text for raw `pg`; `$actor`, `$ip`, `$ua`, `$req` are parameter numbers. */
export function rawAuditInsert(
  action: string,
  from: string,
  params: { actor: number; ip: number; ua: number; req: number },
  parts: { before: string | null; changed: string },
): string {
  return `insert into tenantry.audit_logs (${AUDIT_COLUMNS.join(', ')})
    select a.tenant_id, $${params.actor}::uuid, '${action}', 'projects', a.id::text,
           ${parts.before ? `to_jsonb(${parts.before})` : 'null::jsonb'}, to_jsonb(a), ${parts.changed},
           $${params.ip}::inet, $${params.ua}, $${params.req}, 'success', '{}'::jsonb
      from ${from}`
}
