import { sql, type RawBuilder } from 'kysely'
import { z } from 'zod'
import { auditInsertFromCte } from '../execution/audit-statement.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { validationError } from '../errors/validation-error.js'
import { requestActorId, requestTenantId, type RequestState } from '../runtime/runtime.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import { AUDIT_COLUMN, auditedWrite, collectAuditEvents, denied } from '../execution/audited-write.js'
import { rowVisibilityCondition, tenantOrSystemPredicate } from '../predicates/row-visibility.js'
import { durationToMs, type Duration } from '../util/duration.js'
import { checkOptionKeys } from '../validation/strict-options.js'
import { refuseNulBytes } from '../validation/text-value.js'
import { acceptInvitation, type AcceptedInvitation } from './invitation-accept.js'
import { invitationColumns, invitationModel, toInvitation, type Invitation, type InvitationStatus } from './invitation-model.js'
import { newInvitationToken } from './invitation-token.js'
import { builtinModel, checkUuid, resolveTenant } from './rbac-scope.js'

/** Input of `invitations.invite`. */
export interface InviteInput {
  email: string
  /** Role ids given on acceptance: roles of the tenant or system roles. */
  roles?: readonly string[]
  /** Defaults to 7 days; from 1 minute to 365 days. Measured on the database clock. */
  expiresIn?: Duration
  /** Only in a system scope: the tenant to invite to. */
  tenantId?: string
}

/** Options of `invitations.list`. */
export interface InvitationListOptions {
  status?: InvitationStatus
  email?: string
  /** Defaults to 100, at most 1000; newest first. */
  limit?: number
  /** Only in a system scope: one tenant's invitations (otherwise all tenants'). */
  tenantId?: string
}

export const INVITE_ACTION = 'invitations.create'
export const REVOKE_ACTION = 'invitations.revoke'
const DEFAULT_EXPIRY_MS = 7 * 86_400_000
const MIN_EXPIRY_MS = 60_000
const MAX_EXPIRY_MS = 365 * 86_400_000
/** The same rule as the table's `invitations_email_format` check. */
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

const inviteSchema = z.strictObject({
  email: z.string().trim().max(320).regex(EMAIL, 'an email address'),
  roles: z.array(z.uuid()).max(100).optional(),
  expiresIn: z.union([z.number(), z.string()]).optional(),
  tenantId: z.uuid().optional(),
})

const listSchema = z.strictObject({
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']).optional(),
  email: z.string().max(320).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  tenantId: z.uuid().optional(),
})

/**
 * `scope.invitations`: single-use, expiring invitations to a tenant. Only the SHA-256 of a token's
 * secret is stored, so the token is returned once, by `invite`, and never again.
 *
 * @example
 * const { token } = await scope.invitations.invite({ email: 'ada@example.com', roles: [viewer.id] })
 * // e-mail `token` to Ada; when she has signed in:
 * await tenantry.asSystem({ reason: 'accept invitation' }).invitations.accept(token, { userId: ada.id })
 */
export class Invitations {
  readonly #state: RequestState

  constructor(state: RequestState) {
    this.#state = state
  }

  /** Creates an invitation and returns its token (shown once) with the stored row. One round trip, audited. */
  async invite(input: InviteInput): Promise<{ token: string; invitation: Invitation }> {
    const operation = 'invitations.invite'
    const parsed = inviteSchema.safeParse(input)
    if (!parsed.success) throw validationError(`${operation}: invalid invitation`, parsed.error, { table: 'invitations', operation })
    refuseNulBytes(input, operation, { table: 'invitations' })
    const { email, roles = [], expiresIn, tenantId: named } = parsed.data
    const expiresInMs = expiresIn === undefined ? DEFAULT_EXPIRY_MS : durationToMs(expiresIn as Duration, operation)
    if (expiresInMs < MIN_EXPIRY_MS || expiresInMs > MAX_EXPIRY_MS) {
      throw new TenantryError('VALIDATION', `${operation}: expiresIn must be from 1 minute to 365 days`, { operation })
    }
    const tenantId = await resolveTenant(this.#state, named, operation, INVITE_ACTION)
    const roleIds = [...new Set(roles.map((id) => id.toLowerCase()))]
    const { token, selector, secretHash } = newInvitationToken()
    const s = this.#table
    const roleModel = builtinModel(this.#state, 'roles')
    const failure = () => ({ action: INVITE_ACTION, resourceType: 'invitations', resourceId: null, tenantId })
    const row = await auditedWrite(this.#state, { operation, failure }, async (db, inner, events) => {
      const audit = auditInsertFromCte(inner, invitationModel(inner.runtime), INVITE_ACTION, {
        after: 'created',
        before: null,
        createdFields: ['email', 'role_ids', 'expires_at'],
      })
      const { rows } = await sql<Record<string, unknown>>`
        with valid_roles as (
          select r.id from ${s('roles')} r
           where r.id = any(${roleIds}::uuid[]) and ${rowVisibilityCondition(roleModel, 'r', { tenantId: null, view: 'live' })}
             and ${tenantOrSystemPredicate(roleModel, 'r', tenantId)}),
        created as (
          insert into ${s('invitations')} (tenant_id, email, role_ids, selector, secret_hash, invited_by, expires_at)
          select ${tenantId}::uuid, ${email}, ${roleIds}::uuid[], ${selector}, ${secretHash}::bytea,
                 (select u.id from ${s('users')} u where u.id = ${requestActorId(inner)}::uuid),
                 now() + ${expiresInMs}::double precision * interval '1 millisecond'
           where (select count(*) from valid_roles) = cardinality(${roleIds}::uuid[])
          returning *),
        audit as (${audit})
        select ${invitationColumns('c')}, (select to_jsonb(a) from audit a) as ${sql.id(AUDIT_COLUMN)} from created c`.execute(db)
      const [created] = collectAuditEvents(rows, events)
      // Nothing was inserted: a role is not one of this tenant (maybe another tenant's).
      if (!created) throw denied(new TenantryError('NOT_FOUND', `${operation}: a role is not a role of this tenant`, { table: 'roles', operation }))
      return created
    })
    return { token, invitation: toInvitation(row) }
  }

  /**
   * Accepts an invitation for `userId`: creates (or activates) the membership and gives the
   * invited roles, atomically. Call it in a system scope, or in a tenant scope of the invitation's
   * tenant (another tenant's token reads as unknown). Refusals: malformed, unknown or wrong secret
   * `TOKEN_INVALID` (revokes nothing); already used or revoked `TOKEN_REVOKED`; expired
   * `TOKEN_EXPIRED`.
   */
  accept(token: string, options: { userId: string }): Promise<AcceptedInvitation> {
    checkOptionKeys(options, ['userId'], 'invitations.accept', { table: 'invitations' })
    return acceptInvitation(this.#state, token, options?.userId)
  }

  /**
   * Revokes a pending invitation; revoking it again returns it unchanged. An accepted invitation
   * is a `CONFLICT`; one of another tenant is `NOT_FOUND` (audited as denied).
   */
  async revoke(id: string): Promise<Invitation> {
    const operation = 'invitations.revoke'
    const key = checkUuid(id, 'id', operation)
    const tenantId = requestTenantId(this.#state)
    const s = this.#table
    const inTenant = rowVisibilityCondition(invitationModel(this.#state.runtime), 't', { tenantId, view: 'all' })
    const failure = () => ({ action: REVOKE_ACTION, resourceType: 'invitations', resourceId: key })
    const row = await auditedWrite(this.#state, { operation, failure }, async (db, inner, events) => {
      const audit = auditInsertFromCte(inner, invitationModel(inner.runtime), REVOKE_ACTION, { after: 'changed', before: 'target' })
      const { rows } = await sql<Record<string, unknown>>`
        with target as (
          select t.* from ${s('invitations')} t where t.id = ${key}::uuid and ${inTenant} for update),
        changed as (
          update ${s('invitations')} as u set revoked_at = now()
            from target where u.id = target.id and target.accepted_at is null and target.revoked_at is null
          returning u.*),
        audit as (${audit})
        select ${invitationColumns('x')}, (select to_jsonb(a) from audit a) as ${sql.id(AUDIT_COLUMN)}
          from (select c.* from changed c
                union all
                select t.* from target t where not exists (select 1 from changed)) as x`.execute(db)
      const [target] = collectAuditEvents(rows, events)
      // Another tenant's invitation is out of scope: a refusal, like a write aimed at its row.
      if (!target) throw denied(new TenantryError('NOT_FOUND', `${operation}: no such invitation`, { table: 'invitations', operation }))
      if (target.status === 'accepted')
        throw new TenantryError('CONFLICT', `${operation}: the invitation was already accepted`, { table: 'invitations', operation })
      return target
    })
    return toInvitation(row)
  }

  /** The tenant's invitations, newest first, with their status. Tokens are never returned. */
  async list(options: InvitationListOptions = {}): Promise<Invitation[]> {
    const operation = 'invitations.list'
    const parsed = listSchema.safeParse(options)
    if (!parsed.success) throw validationError(`${operation}: invalid options`, parsed.error, { table: 'invitations', operation })
    refuseNulBytes(options, operation, { table: 'invitations' })
    const o = parsed.data
    const tenantId =
      requestTenantId(this.#state) === null && o.tenantId === undefined ? null : await resolveTenant(this.#state, o.tenantId, operation, operation)
    const filters: RawBuilder<unknown>[] = [rowVisibilityCondition(invitationModel(this.#state.runtime), 'i', { tenantId, view: 'all' })]
    if (o.email !== undefined) filters.push(sql`lower(i.email) = lower(${o.email})`)
    const s = this.#table
    try {
      const { rows } = await inUnitOfWork(
        this.#state,
        false,
        (db) =>
          sql<Record<string, unknown>>`select * from (
            select ${invitationColumns('i')} from ${s('invitations')} i where ${sql.join(filters, sql` and `)}) as x
          where ${o.status === undefined ? sql`true` : sql`x.status = ${o.status}`}
          order by x.created_at desc, x.id desc limit ${o.limit ?? 100}`.execute(db),
        { readOnly: true },
      )
      return rows.map(toInvitation)
    } catch (error) {
      throw mapDatabaseError(error, operation)
    }
  }

  get #table(): (name: string) => RawBuilder<unknown> {
    const schema = this.#state.runtime.schema
    return (name) => sql`${sql.id(schema, name)}`
  }
}
