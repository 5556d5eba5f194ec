import { sql, type RawBuilder } from 'kysely'
import { bundledTableModel } from '../schema/builtin-tables.js'
import type { TenantryRuntime } from '../runtime/runtime.js'
import type { TableModel } from '../schema/table-model.js'

/** Where an invitation stands, computed with the database clock. */
export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired'

/** An invitation as tenantry returns it: never the selector or the secret's hash. */
export interface Invitation {
  id: string
  tenant_id: string
  email: string
  /** Roles given on acceptance (roles deleted meanwhile are skipped). */
  role_ids: string[]
  invited_by: string | null
  expires_at: Date
  accepted_at: Date | null
  accepted_by: string | null
  revoked_at: Date | null
  created_at: Date
  updated_at: Date
  status: InvitationStatus
}

const models = new WeakMap<TenantryRuntime, TableModel>()

/**
 * `invitations` as a model for the audit writer and the write statements. The selector and the
 * secret's hash never reach an audit row (the registry redacts them).
 */
export function invitationModel(runtime: TenantryRuntime): TableModel {
  let model = models.get(runtime)
  if (!model) {
    model = bundledTableModel('invitations', runtime.schema, runtime.audit.redact)
    models.set(runtime, model)
  }
  return model
}

/** The public columns of an invitation row under `alias`, with its status. */
export function invitationColumns(alias: string): RawBuilder<unknown> {
  const a = sql.id(alias)
  return sql`${a}.id, ${a}.tenant_id, ${a}.email, ${a}.role_ids, ${a}.invited_by, ${a}.expires_at, ${a}.accepted_at,
    ${a}.accepted_by, ${a}.revoked_at, ${a}.created_at, ${a}.updated_at,
    case when ${a}.accepted_at is not null then 'accepted'
         when ${a}.revoked_at is not null then 'revoked'
         when ${a}.expires_at <= now() then 'expired'
         else 'pending' end as status`
}

/** Keeps only the public fields of a row that carries `invitationColumns`. */
export function toInvitation(row: Record<string, unknown>): Invitation {
  const { id, tenant_id, email, role_ids, invited_by, expires_at, accepted_at, accepted_by, revoked_at, created_at, updated_at, status } =
    row as unknown as Invitation
  return { id, tenant_id, email, role_ids, invited_by, expires_at, accepted_at, accepted_by, revoked_at, created_at, updated_at, status }
}
