import { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import { validationError } from '../errors/validation-error.js'
import { refuseNulBytes } from './text-value.js'

/** The request context every tenant scope carries. Validated before any SQL is sent. */
export const contextSchema = z.strictObject({
  tenantId: z.uuid(),
  actorId: z.uuid().nullish(),
  ip: z.union([z.ipv4(), z.ipv6()]).nullish(),
  userAgent: z.string().max(1024).nullish(),
  requestId: z.string().max(200).nullish(),
})

export type TenantContextInput = z.input<typeof contextSchema>

/** A validated context; optional fields are normalised to `null`. */
export interface TenantContext {
  readonly tenantId: string
  readonly actorId: string | null
  readonly ip: string | null
  readonly userAgent: string | null
  readonly requestId: string | null
}

/** Validates the context of `withContext`; fails closed (never "all tenants"). */
export function parseContext(input: unknown): TenantContext {
  if (
    input === null ||
    typeof input !== 'object' ||
    !('tenantId' in input) ||
    (input as { tenantId: unknown }).tenantId == null ||
    (input as { tenantId: unknown }).tenantId === ''
  ) {
    throw new TenantryError('CONTEXT_MISSING', 'withContext: a tenantId is required; tenantry never falls back to all tenants')
  }
  const parsed = contextSchema.safeParse(input)
  if (!parsed.success) throw validationError('withContext: invalid context', parsed.error)
  refuseNulBytes(input, 'withContext')
  const { tenantId, actorId, ip, userAgent, requestId } = parsed.data
  return Object.freeze({
    tenantId: tenantId.toLowerCase(),
    actorId: actorId?.toLowerCase() ?? null,
    ip: ip ?? null,
    userAgent: userAgent ?? null,
    requestId: requestId ?? null,
  })
}
