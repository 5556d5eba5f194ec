/** What a command needs from the process; injected so that tests run commands in-process. */
export interface CommandIo {
  env: Record<string, string | undefined>
  stdout: (line: string) => void
  stderr: (line: string) => void
}

/**
 * One line a shell user can act on, for a failure to reach or use the database. Driver messages are
 * not echoed where they can carry values; connection strings (and their passwords) never are.
 */
export function describeDatabaseFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case 'ECONNREFUSED':
      return 'cannot connect: the server refused the connection (is PostgreSQL running at that host and port?)'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'cannot connect: the host name in DATABASE_URL does not resolve'
    case 'ETIMEDOUT':
      return 'cannot connect: the connection timed out'
    case '28P01':
      return 'cannot connect: password authentication failed for the user in DATABASE_URL'
    case '28000':
      return 'cannot connect: the server rejected the user in DATABASE_URL'
    case '3D000':
      return 'cannot connect: the database named in DATABASE_URL does not exist'
    case '42501':
      return 'permission denied: run it as a role that may create the schema and its tables'
    case 'ERR_INVALID_URL':
      return 'DATABASE_URL is not a valid connection string (expected postgres://user:password@host:port/database)'
  }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `database error (SQLSTATE ${code})`
  if (error instanceof TypeError && /url/i.test(error.message)) {
    return 'DATABASE_URL is not a valid connection string (expected postgres://user:password@host:port/database)'
  }
  return error instanceof Error ? error.message.replace(/postgres(ql)?:\/\/\S+/g, '<DATABASE_URL>') : String(error)
}

/** Checks that DATABASE_URL is set and parses as a postgres URL; returns a message when it is not. */
export function checkDatabaseUrl(url: string | undefined): string | null {
  if (!url) return 'set DATABASE_URL to the database, e.g. postgres://user:password@localhost:5432/app'
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'DATABASE_URL is not a valid connection string (expected postgres://user:password@host:port/database)'
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return `DATABASE_URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//)`
  }
  return null
}
