import { sql, type Kysely, type RawBuilder } from 'kysely'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { requestActorId, requestTenantId, type RequestState } from '../runtime/runtime.js'
import { AUDIT_COLUMN, auditedWrite, collectAuditEvents, denied } from '../execution/audited-write.js'
import type { BuiltinTableName } from '../schema/builtin-tables.js'
import { rowVisibilityCondition, tenantOrSystemPredicate } from '../predicates/row-visibility.js'
import { invitationColumns, invitationModel, toInvitation, type Invitation } from './invitation-model.js'
import { invitationSecretMatches, parseInvitationToken } from './invitation-token.js'
import { invalidatePermissions } from './permission-cache.js'
import { builtinModel, checkUuid } from './rbac-scope.js'
import { ASSIGN_ACTION } from './role-assignment.js'

/** What `invitations.accept` returns. */
export interface AcceptedInvitation {
  invitation: Invitation
  /** Roles this acceptance gave the user (roles the user already held, or deleted roles, are left out). */
  assignedRoleIds: string[]
  /** Whether the user's membership was created (or moved from `invited` to `active`) now. */
  membershipActivated: boolean
}

export const ACCEPT_ACTION = 'invitations.accept'

interface LockedInvitation {
  id: string
  tenant_id: string
  secret_hash: Buffer
  accepted: boolean
  revoked: boolean
  expired: boolean
  tenant_live: boolean
  membership_status: 'active' | 'invited' | 'suspended' | null
  user_exists: boolean
}

// Token refusals are audited as `denied`; anything else that fails as `failure`.
const unknownToken = () => denied(new TenantryError('TOKEN_INVALID', `${ACCEPT_ACTION}: unknown or invalid invitation token`, { operation: ACCEPT_ACTION }))

/**
 * Accepts an invitation in one transaction: the invitation row is locked (`for update`), so of
 * concurrent accepts of one token exactly one succeeds and the others see it accepted. Creates
 * (or activates) the membership, gives the invited roles that still exist, marks the invitation
 * accepted, and audits each change in the same statement.
 */
export async function acceptInvitation(state: RequestState, token: unknown, userId: unknown): Promise<AcceptedInvitation> {
  const parsed = parseInvitationToken(token)
  if (!parsed) throw unknownToken()
  const user = checkUuid(userId, 'userId', ACCEPT_ACTION)
  await state.runtime.ready()
  const seen: { invitation?: { id: string; tenant_id: string } } = {}
  const failure = () => ({
    action: ACCEPT_ACTION,
    resourceType: 'invitations',
    resourceId: seen.invitation?.id ?? null,
    ...(seen.invitation ? { tenantId: seen.invitation.tenant_id } : {}),
  })
  const settle = () => invalidatePermissions(state)
  return auditedWrite(state, { operation: ACCEPT_ACTION, needsTransaction: true, failure, settle }, async (db, inner, events) => {
    const locked = await lockInvitation(db, inner, parsed.selector, user)
    const scopeTenant = requestTenantId(inner)
    // Another tenant's invitation is indistinguishable from an unknown one.
    if (!locked || (scopeTenant !== null && locked.tenant_id !== scopeTenant)) throw unknownToken()
    seen.invitation = { id: locked.id, tenant_id: locked.tenant_id }
    // The secret is checked first, so a wrong one learns nothing about the invitation's state.
    if (!invitationSecretMatches(parsed.secret, locked.secret_hash)) throw unknownToken()
    if (locked.accepted) throw denied(new TenantryError('TOKEN_REVOKED', `${ACCEPT_ACTION}: the invitation was already used`, { operation: ACCEPT_ACTION }))
    if (locked.revoked || !locked.tenant_live)
      throw denied(new TenantryError('TOKEN_REVOKED', `${ACCEPT_ACTION}: the invitation was revoked`, { operation: ACCEPT_ACTION }))
    if (locked.expired) throw denied(new TenantryError('TOKEN_EXPIRED', `${ACCEPT_ACTION}: the invitation has expired`, { operation: ACCEPT_ACTION }))
    if (!locked.user_exists) throw new TenantryError('NOT_FOUND', `${ACCEPT_ACTION}: no such user`, { table: 'users', operation: ACCEPT_ACTION })
    if (locked.membership_status === 'suspended') {
      throw new TenantryError('CONFLICT', `${ACCEPT_ACTION}: the user is a suspended member of this tenant`, { table: 'memberships', operation: ACCEPT_ACTION })
    }
    const { rows } = await acceptStatement(withActor(inner, user), locked, user).execute(db)
    const [row] = collectAuditEvents(rows, events)
    return {
      invitation: toInvitation(row!),
      assignedRoleIds: (row!.assigned_role_ids as string[]) ?? [],
      membershipActivated: locked.membership_status !== 'active',
    }
  })
}

async function lockInvitation(db: Kysely<any>, state: RequestState, selector: string, user: string): Promise<LockedInvitation | undefined> {
  const s = (table: string) => sql.id(state.runtime.schema, table)
  // The tenant is the invitation's, unknown until this row is read: the membership joins on it,
  // and only liveness comes from the row scope.
  const live = (name: BuiltinTableName, alias: string) => rowVisibilityCondition(builtinModel(state, name), alias, { tenantId: null, view: 'live' })
  const { rows } = await sql<LockedInvitation>`
    select i.id, i.tenant_id, i.secret_hash,
           i.accepted_at is not null as accepted, i.revoked_at is not null as revoked,
           i.expires_at <= now() as expired, ${live('tenants', 't')} as tenant_live,
           (select m.status from ${s('memberships')} m
             where m.tenant_id = i.tenant_id and m.user_id = ${user}::uuid and ${live('memberships', 'm')}) as membership_status,
           exists (select 1 from ${s('users')} u where u.id = ${user}::uuid and ${live('users', 'u')}) as user_exists
      from ${s('invitations')} i join ${s('tenants')} t on t.id = i.tenant_id
     where i.selector = ${selector}
       for update of i`.execute(db)
  return rows[0]
}

/** The accepting user is the actor of the audit rows when the scope names none. */
function withActor(state: RequestState, userId: string): RequestState {
  if (requestActorId(state) !== null) return state
  if (state.system) return { ...state, system: { ...state.system, actorId: userId } }
  if (state.context) return { ...state, context: { ...state.context, actorId: userId } }
  return state
}

/** Membership, roles and the invitation itself, with their audit rows, in one statement. */
function acceptStatement(state: RequestState, invitation: LockedInvitation, user: string): RawBuilder<Record<string, unknown>> {
  const s = (table: string) => sql.id(state.runtime.schema, table)
  const tenant = sql`${invitation.tenant_id}::uuid`
  const memberships = builtinModel(state, 'memberships')
  const roles = builtinModel(state, 'roles')
  const steps: RawBuilder<unknown>[] = []
  const audits: string[] = []
  if (invitation.membership_status === null) {
    // The conflict target's `where deleted_at is null` names the partial unique index and must
    // repeat its text; it is not a row scope.
    steps.push(sql`member_created as (
        insert into ${s('memberships')} (tenant_id, user_id, status) values (${tenant}, ${user}::uuid, 'active')
        on conflict (tenant_id, user_id) where deleted_at is null do nothing
        returning *)`)
    steps.push(
      sql`member_audit as (${auditInsertFromCte(state, memberships, 'memberships.create', {
        after: 'member_created',
        before: null,
        createdFields: ['tenant_id', 'user_id', 'status'],
      })})`,
    )
    audits.push('member_audit')
  } else if (invitation.membership_status === 'invited') {
    steps.push(sql`member_before as (
        select * from ${s('memberships')} m
         where ${rowVisibilityCondition(memberships, 'm', { tenantId: invitation.tenant_id, view: 'live' })} and m.user_id = ${user}::uuid for update)`)
    steps.push(sql`member_changed as (
        update ${s('memberships')} as u set status = 'active' from member_before b where u.id = b.id returning u.*)`)
    steps.push(sql`member_audit as (${auditInsertFromCte(state, memberships, 'memberships.update', { after: 'member_changed', before: 'member_before' })})`)
    audits.push('member_audit')
  }
  // Roles deleted since the invitation was made, or moved out of reach, are skipped.
  steps.push(sql`roles_created as (
      insert into ${s('user_roles')} (tenant_id, user_id, role_id)
      select ${tenant}, ${user}::uuid, r.id
        from ${s('invitations')} i join ${s('roles')} r on r.id = any(i.role_ids)
       where i.id = ${invitation.id}::uuid and ${rowVisibilityCondition(roles, 'r', { tenantId: null, view: 'live' })}
         and ${tenantOrSystemPredicate(roles, 'r', invitation.tenant_id)}
      on conflict (tenant_id, user_id, role_id) do nothing
      returning *)`)
  steps.push(
    sql`roles_audit as (${auditInsertFromCte(state, builtinModel(state, 'user_roles'), ASSIGN_ACTION, {
      after: 'roles_created',
      before: null,
      createdFields: ['tenant_id', 'user_id', 'role_id'],
    })})`,
  )
  audits.push('roles_audit')
  steps.push(sql`invitation_before as (select * from ${s('invitations')} where id = ${invitation.id}::uuid)`)
  steps.push(sql`invitation_changed as (
      update ${s('invitations')} as u set accepted_at = now(), accepted_by = ${user}::uuid
        from invitation_before b where u.id = b.id returning u.*)`)
  steps.push(
    sql`invitation_audit as (${auditInsertFromCte(state, invitationModel(state.runtime), ACCEPT_ACTION, { after: 'invitation_changed', before: 'invitation_before' })})`,
  )
  audits.push('invitation_audit')
  const allAudits = sql.join(
    audits.map((name) => sql`select to_jsonb(a) as j from ${sql.id(name)} a`),
    sql` union all `,
  )
  return sql<Record<string, unknown>>`with ${sql.join(steps)}
    select ${invitationColumns('c')}, array(select role_id from roles_created) as assigned_role_ids,
           (select coalesce(jsonb_agg(x.j), '[]'::jsonb) from (${allAudits}) x) as ${sql.id(AUDIT_COLUMN)}
      from invitation_changed c`
}
