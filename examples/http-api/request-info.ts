/** Where a request came from, as tenantry's context and token calls want it. */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'

export interface RequestInfo {
  ip: string | null
  userAgent: string | null
  requestId: string
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/

/**
 * The socket's address (behind a proxy, read your proxy's header instead, and only from the proxy),
 * the user agent, and `x-request-id` when it is well-formed, or a new one. The request id is echoed
 * in the response, so a client can quote it and you can find the audit rows.
 */
export function requestInfo(c: Context): RequestInfo {
  let ip: string | null = null
  try {
    const address = getConnInfo(c).remote.address
    ip = address && isIP(address) ? address : null
  } catch {
    // Not served by @hono/node-server (app.request() in a test): no socket, no address.
  }
  const given = c.req.header('x-request-id')
  const requestId = given && REQUEST_ID.test(given) ? given : randomUUID()
  c.header('x-request-id', requestId)
  return { ip, userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null, requestId }
}
