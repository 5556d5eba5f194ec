import { sql } from 'kysely'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import { AUDIT_COLUMN, collectAuditEvents, recordFailedWrite } from '../execution/audited-write.js'
import { ownerPredicate, rowVisibilityCondition } from '../predicates/row-visibility.js'
import { builtinModel, resolveTenant } from './rbac-scope.js'
import { parseRoleDefinitions, type RoleDefinition, type RoleRow } from './role-input.js'
import { checkOptionKeys } from '../validation/strict-options.js'

/** What `seedDefaultRoles` returns. */
export interface SeedRolesResult {
  /** Every seeded name → its live role (created now or already there), keyed as you named it. */
  roles: Record<string, RoleRow>
  /** Names whose role this call created. */
  created: string[]
}

export const SEED_ACTION = 'roles.create'

/**
 * Creates the roles of `definitions` that do not exist yet (by case-insensitive name among live
 * roles) and leaves existing ones untouched, so a host's later edits survive re-seeding. One
 * statement: `insert ... on conflict do nothing` on the live-name key, audited per created role,
 * safe to run concurrently. In a system scope without `tenantId` it seeds system roles.
 */
export async function seedDefaultRoles(
  state: RequestState,
  definitions: Record<string, RoleDefinition>,
  options: { tenantId?: string } = {},
): Promise<SeedRolesResult> {
  const operation = 'roles.seedDefaultRoles'
  checkOptionKeys(options, ['tenantId'], operation)
  const parsed = parseRoleDefinitions(definitions, operation)
  const tenantId =
    requestTenantId(state) === null && options.tenantId === undefined ? null : await resolveTenant(state, options.tenantId, operation, SEED_ACTION)
  await state.runtime.ready()
  const input = JSON.stringify(Object.fromEntries(parsed))
  const roles = sql.id(state.runtime.schema, 'roles')
  const model = builtinModel(state, 'roles')
  // Existing roles of exactly this owner (the tenant, or the system when seeding system roles). The
  // conflict target's `where deleted_at is null` below is not a row scope: it names the partial
  // unique index and must repeat its text.
  const existing = sql`${rowVisibilityCondition(model, 'r', { tenantId: null, view: 'live' })} and ${ownerPredicate(model, 'r', tenantId)}`
  try {
    const rows = await inUnitOfWork(state, false, async (db, inner, events) => {
      const audit = auditInsertFromCte(inner, model, SEED_ACTION, { after: 'created', before: null, createdFields: ['name', 'permissions', 'description'] })
      const { rows } = await sql<RoleRow & { seeded: boolean }>`
        with input as (
          select d.key as name, array(select jsonb_array_elements_text(d.value -> 'permissions')) as permissions,
                 d.value ->> 'description' as description
            from jsonb_each(${input}::jsonb) as d),
        created as (
          insert into ${roles} (tenant_id, name, permissions, description)
          select ${tenantId}::uuid, i.name, i.permissions, i.description from input i
          on conflict (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)) where deleted_at is null
          do nothing
          returning *),
        audit as (${audit})
        select c.*, true as seeded, (select to_jsonb(a) from audit a where a.resource_id = c.id::text) as ${sql.id(AUDIT_COLUMN)}
          from created c
        union all
        select r.*, false, null
          from ${roles} r join input i on lower(r.name) = lower(i.name)
         where ${existing}`.execute(db)
      return collectAuditEvents(rows as (RoleRow & { seeded: boolean } & Record<string, unknown>)[], events)
    })
    const missing = [...parsed.keys()].filter((name) => !rows.some((r) => r.name.toLowerCase() === name.toLowerCase()))
    // A concurrent seed committed these after this statement's snapshot: `on conflict` skipped
    // them and the snapshot cannot see them, so read them once more.
    if (missing.length > 0) {
      const late = await inUnitOfWork(
        state,
        false,
        (db) =>
          sql<RoleRow>`select * from ${roles} r where ${existing}
          and lower(r.name) = any(${missing.map((n) => n.toLowerCase())}::text[])`.execute(db),
        { readOnly: true },
      )
      rows.push(...late.rows.map((r) => ({ ...r, seeded: false })))
    }
    const result: SeedRolesResult = { roles: {}, created: [] }
    for (const name of parsed.keys()) {
      const row = rows.find((r) => r.name.toLowerCase() === name.toLowerCase())
      if (!row) continue
      const { seeded, ...role } = row
      result.roles[name] = role
      if (seeded) result.created.push(name)
    }
    return result
  } catch (error) {
    throw await recordFailedWrite(state, mapDatabaseError(error, operation), { action: SEED_ACTION, resourceType: 'roles', resourceId: null, tenantId })
  }
}
