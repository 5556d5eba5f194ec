import { isIP } from 'node:net'
import { z } from 'zod'
import { validationError } from '../errors/validation-error.js'
import { checkOptionKeys } from '../validation/strict-options.js'
import { refuseNulBytes } from '../validation/text-value.js'

/** User agents are attacker-controlled; a long one is cut, never a reason to refuse a login. */
const MAX_USER_AGENT = 512

const ip = z.string().refine((value) => isIP(value) !== 0, 'an IPv4 or IPv6 address')
const userAgent = z.string().transform((value) => value.slice(0, MAX_USER_AGENT))

const issueSchema = z.strictObject({
  userId: z.uuid(),
  tenantId: z.uuid().nullish(),
  ip: ip.nullish(),
  userAgent: userAgent.nullish(),
  clientId: z.string().min(1).max(200).nullish(),
})

const requestSchema = z.strictObject({
  ip: ip.nullish(),
  userAgent: userAgent.nullish(),
})

const revokeAllSchema = z.strictObject({
  userId: z.uuid(),
  except: z.union([z.uuid(), z.array(z.uuid())]).nullish(),
})

const pruneSchema = z.strictObject({
  batchSize: z.number().int().min(1).max(100_000).optional(),
})

/** Who logs in, and from where. */
export interface IssueInput {
  userId: string
  /** The tenant the session was opened for, if any. */
  tenantId?: string | null
  ip?: string | null
  userAgent?: string | null
  /** The host's name for the client (`web`, `ios`), shown by `listSessions`. */
  clientId?: string | null
}

/** Where a rotation or revocation request came from; recorded on the session and in the audit row. */
export interface RequestInfo {
  ip?: string | null
  userAgent?: string | null
}

function parse<T extends z.ZodType>(schema: T, value: unknown, operation: string): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw validationError(`${operation}: invalid input`, parsed.error, { operation })
  // Strings reach text columns (user agent, client id): a NUL byte is refused, naming the field.
  refuseNulBytes(value, operation)
  return parsed.data
}

export function parseIssueInput(input: IssueInput) {
  const parsed = parse(issueSchema, input, 'tokens.issue')
  return {
    userId: parsed.userId,
    tenantId: parsed.tenantId ?? null,
    ip: parsed.ip ?? null,
    userAgent: parsed.userAgent ?? null,
    clientId: parsed.clientId ?? null,
  }
}

export function parseRequestInfo(input: RequestInfo | undefined, operation: string) {
  const parsed = parse(requestSchema, input ?? {}, operation)
  return { ip: parsed.ip ?? null, userAgent: parsed.userAgent ?? null }
}

/** For methods that take no options yet: any key passed is `VALIDATION` naming it. */
export function parseNoOptions(options: unknown, operation: string): void {
  checkOptionKeys(options, [], operation)
}

export function parseUuid(value: unknown, what: string, operation: string): string {
  return parse(z.object({ [what]: z.uuid() }), { [what]: value }, operation)[what] as string
}

export function parseRevokeAll(userId: unknown, options: unknown) {
  const { except } = checkOptionKeys(options, ['except'], 'tokens.revokeAllForUser')
  const parsed = parse(revokeAllSchema, { userId, except }, 'tokens.revokeAllForUser')
  const list = parsed.except == null ? [] : Array.isArray(parsed.except) ? parsed.except : [parsed.except]
  return { userId: parsed.userId, except: list }
}

export function parsePruneOptions(options: unknown): { batchSize: number } {
  const parsed = parse(pruneSchema, options ?? {}, 'tokens.prune')
  return { batchSize: parsed.batchSize ?? 1000 }
}
