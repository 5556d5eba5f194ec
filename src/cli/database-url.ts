import type { CommandIo } from './command-io.js'
import { EXIT, type ExitCode } from './exit-codes.js'

/** A `DATABASE_URL` that parsed, and how to name it without its password. */
export interface DatabaseUrl {
  url: string
  /** `host:port/database`, safe to print. */
  label: string
  password: string | undefined
}

/**
 * Reads `DATABASE_URL`, or returns a one-line reason it cannot be used. The reason never
 * repeats the value: a malformed URL can still hold a password.
 *
 * @example
 * const target = parseDatabaseUrl(process.env)
 * if (typeof target === 'string') console.error(target)
 */
export function parseDatabaseUrl(env: Record<string, string | undefined>): DatabaseUrl | string {
  const url = env.DATABASE_URL
  if (!url) return 'set DATABASE_URL to the database, e.g. postgres://user:password@localhost:5432/app'
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'DATABASE_URL is not a valid URL (expected postgres://user:password@host:5432/database)'
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return `DATABASE_URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//)`
  }
  const database = decodeURIComponent(parsed.pathname.slice(1)) || '(default database)'
  const host = parsed.hostname || 'localhost'
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined
  return { url, label: `${host}:${parsed.port || '5432'}/${database}`, password }
}

const byErrno: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running, and on that port?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset by the server',
}

const bySqlState: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'the server refused the connection (pg_hba.conf, role or SSL settings)',
  '3D000': 'the database does not exist',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
  '42501': 'permission denied: run it as a role that may create the schema and its tables',
}

/**
 * One line for a failed command: what went wrong, against which database, never a stack trace,
 * never the password (and, for database errors, never the driver message, which can hold values).
 */
export function describeDatabaseError(error: unknown, target: DatabaseUrl): string {
  const { code, message } = error as { code?: unknown; message?: unknown }
  let reason: string
  if (typeof code === 'string' && byErrno[code]) reason = byErrno[code]
  else if (typeof code === 'string' && bySqlState[code]) reason = bySqlState[code]
  else if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) reason = `database error (SQLSTATE ${code})`
  else if (typeof message === 'string' && /timeout/i.test(message)) reason = 'connection timed out'
  else reason = typeof message === 'string' && message ? message : String(error)
  return redact(`${reason} [${target.label}]`, target.password)
}

/**
 * Reads `DATABASE_URL` for `tenantry <command>`, or says in one line why it cannot and returns the
 * exit code: usage when it is not set (the user has not said where), failed when it is set but
 * unusable.
 *
 * @example
 * const target = readDatabaseTarget('migrate', io)
 * if (typeof target === 'number') return target
 */
export function readDatabaseTarget(command: string, io: CommandIo): DatabaseUrl | ExitCode {
  const target = parseDatabaseUrl(io.env)
  if (typeof target !== 'string') return target
  io.stderr(`tenantry ${command}: ${target}`)
  return io.env.DATABASE_URL ? EXIT.failed : EXIT.usage
}

/**
 * Masks the password of every `scheme://user:password@` in a line, such as a connection string
 * pasted where an argument was expected and echoed back in a usage error.
 *
 * @example
 * redactUrlPasswords('unknown action "postgres://app:s3cret@db/app"') // 'unknown action "postgres://app:***@db/app"'
 */
export function redactUrlPasswords(line: string): string {
  // Greedy up to the last `@` of the word: a password may hold an unencoded `@`.
  return line.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)\S*@/gi, '$1***@')
}

/** Removes every occurrence of the password, raw and URL-encoded, from a line. */
export function redact(line: string, password: string | undefined): string {
  if (!password) return line
  let out = line
  for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join('***')
  return out
}
