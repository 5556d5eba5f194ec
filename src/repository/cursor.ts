import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto'
import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { TenantryError } from '../errors/tenantry-error.js'
import { rowVisibilityCondition } from '../predicates/row-visibility.js'
import type { TimestampTexts } from '../runtime/timestamp-texts.js'
import type { TableModel } from '../schema/table-model.js'
import type { SortKey } from './order-by.js'

/**
 * Keyset cursors: `<body>.<mac>`. `body` is base64url JSON, one of:
 * - the last row's sort values, an array of text or null (a timestamp's text may hold only its
 *   milliseconds, recovered by primary key on the next page);
 * - `{ "x": [...] }`, the same values with each timestamp's exact text as the server sent it;
 * - `{ "b": <text> }`, a millisecond bound on the first sort key (see `millisecondBound`).
 * `mac` is HMAC-SHA256, under the instance's cursor key, of the table, the tenant, the ordering
 * and `body`. Without the key a cursor cannot be edited, forged by recomputing a hash, or replayed
 * for another table, tenant or ordering.
 */

const MAX_CURSOR_LENGTH = 4096
const MAC_BYTES = 16
/** Columns whose JavaScript value (a `Date`) is coarser than the stored one (microseconds). */
const TIMESTAMP_TYPES = new Set(['timestamptz', 'timestamp'])
/** Types whose values are not scalars in JavaScript (arrays, json, bytea, interval): no keyset order. */
const UNORDERABLE = /^(_.*|json|jsonb|bytea|interval|point|box|line|lseg|path|polygon|circle)$/

export type CursorValue = string | null

/**
 * Where the next page starts: after the row with these sort values (a timestamp's microseconds
 * recovered by primary key), after the row with these exact values, or at a bound on the first key.
 */
export type CursorPosition = CursorValue[] | { exact: CursorValue[] } | { bound: string }

/** The values `position` binds, in order: the bound, or the sort values (NULLs included). */
export function positionValues(position: CursorPosition): CursorValue[] {
  return 'bound' in position ? [position.bound] : Array.isArray(position) ? position : position.exact
}

/** What sets the SQL of `position` apart from another position's of the same ordering: its kind, and which values are NULL. */
export function positionShape(position: CursorPosition): string {
  if ('bound' in position) return 'bound'
  const nulls = positionValues(position)
    .map((v) => (v === null ? 'n' : 'v'))
    .join('')
  return Array.isArray(position) ? nulls : `exact:${nulls}`
}

/** The same kind of position over `values` (a compiled statement's placeholders), NULLs kept where they are. */
export function withPositionValues(position: CursorPosition, values: string[]): CursorPosition {
  if ('bound' in position) return { bound: values[0]! }
  const held = positionValues(position).map((v, i) => (v === null ? null : values[i]!))
  return Array.isArray(position) ? held : { exact: held }
}

function signature(model: TableModel, tenantId: string | null, keys: SortKey[]): string {
  const order = keys.map((k) => `${k.column} ${k.direction} nulls ${k.nulls}`).join(',')
  return `tenantry-cursor-v1\0${model.schema}.${model.table}\0${model.name}\0${tenantId ?? '*'}\0${order}\0`
}

function mac(key: KeyObject, prefix: string, body: string): Buffer {
  return createHmac('sha256', key).update(prefix).update(body).digest().subarray(0, MAC_BYTES)
}

function invalidCursor(model: TableModel, operation: string): TenantryError {
  return new TenantryError('VALIDATION', `${operation}: invalid cursor`, { table: model.name, operation })
}

/** Refuses sort keys whose values cannot travel in a cursor, before any SQL is sent. */
export function checkKeysetColumns(model: TableModel, keys: SortKey[], operation: string): void {
  for (const key of keys) {
    const type = model.columns.get(key.column)?.type ?? ''
    if (UNORDERABLE.test(type)) {
      throw new TenantryError('VALIDATION', `${operation}: keyset pages cannot order by "${key.column}" (type ${type})`, {
        table: model.name,
        column: key.column,
        operation,
      })
    }
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** A `Date` as pg parsed it: local wall time for `timestamp`, local midnight for `date`. */
function dateText(value: Date, type: string): string {
  if (type === 'timestamptz') return value.toISOString()
  const day = `${pad(value.getFullYear(), 4)}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`
  if (type === 'date') return day
  return `${day} ${pad(value.getHours())}:${pad(value.getMinutes())}:${pad(value.getSeconds())}.${pad(value.getMilliseconds(), 3)}`
}

function valueText(model: TableModel, column: string, value: unknown, operation: string): CursorValue {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'string':
      return value
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value)
  }
  if (value instanceof Date) return dateText(value, model.columns.get(column)?.type ?? 'timestamptz')
  throw new TenantryError('VALIDATION', `${operation}: keyset pages cannot order by "${column}" (its values are not scalars)`, {
    table: model.name,
    column,
    operation,
  })
}

/**
 * The cursor after `row`, read from the row object itself (no extra column is selected). A
 * timestamp arrives as a millisecond `Date`. Its microseconds travel in the cursor when `texts`
 * knows the server's text; otherwise `next` (the first row of the next page, fetched to know there
 * is one) may allow a millisecond bound, and failing both `afterCursorPredicate` recovers them.
 */
export function encodeCursor(
  key: KeyObject,
  model: TableModel,
  tenantId: string | null,
  keys: SortKey[],
  row: Record<string, unknown>,
  next: Record<string, unknown>,
  texts: Pick<TimestampTexts, 'textOf'>,
  operation: string,
): string {
  const bound = millisecondBound(model, keys[0]!, row, next)
  let content: unknown = { b: bound }
  if (bound === null) {
    const { values, exactTimestamps } = cursorValues(model, keys, row, texts, operation)
    content = exactTimestamps ? { x: values } : values
  }
  const body = Buffer.from(JSON.stringify(content)).toString('base64url')
  return `${body}.${mac(key, signature(model, tenantId, keys), body).toString('base64url')}`
}

/**
 * The text of `row`'s sort values; a timestamp's is the server's exact text where `texts` knows it
 * (whatever the pool's parser made of it). `exactTimestamps`: there is a timestamp key, and every
 * one that is not NULL has its exact text.
 */
function cursorValues(
  model: TableModel,
  keys: SortKey[],
  row: Record<string, unknown>,
  texts: Pick<TimestampTexts, 'textOf'>,
  operation: string,
): { values: CursorValue[]; exactTimestamps: boolean } {
  let timestamps = 0
  let known = 0
  const values = keys.map(({ column }) => {
    const value = row[column]
    if (value !== null && value !== undefined && TIMESTAMP_TYPES.has(model.columns.get(column)?.type ?? '')) {
      timestamps++
      const text = texts.textOf(value)
      if (text !== undefined) {
        known++
        return text
      }
    }
    return valueText(model, column, value, operation)
  })
  return { values, exactTimestamps: timestamps > 0 && known === timestamps }
}

/**
 * A first sort key on a NOT NULL timestamp column whose values in `row` (the page's last) and
 * `next` (the next page's first) are in different milliseconds: then, as of this read, the rows
 * after `row` are exactly those whose key is before `row`'s millisecond (`desc`), or from the next
 * millisecond on (`asc`), whatever the microseconds and the later keys. That bound is exact with
 * the millisecond a `Date` holds, so the next page needs no probe for the microseconds. The bound's
 * text, or `null` where it does not apply (same millisecond, NULLs, values that are not `Date`s).
 */
function millisecondBound(model: TableModel, first: SortKey, row: Record<string, unknown>, next: Record<string, unknown>): string | null {
  const column = model.columns.get(first.column)
  if (!column || column.nullable || !TIMESTAMP_TYPES.has(column.type)) return null
  const last = row[first.column]
  const following = next[first.column]
  if (!(last instanceof Date) || !(following instanceof Date)) return null
  const ascending = first.direction === 'asc'
  if (ascending ? following.getTime() <= last.getTime() : following.getTime() >= last.getTime()) return null
  return dateText(ascending ? new Date(last.getTime() + 1) : last, column.type)
}

/**
 * The position of a cursor made by `encodeCursor` for the same table, tenant and ordering under the
 * same key. Anything else (edited, truncated, signed with another key, from another table, tenant
 * or ordering) is a `VALIDATION` error that names no value.
 */
export function decodeCursor(key: KeyObject, model: TableModel, tenantId: string | null, keys: SortKey[], cursor: unknown, operation: string): CursorPosition {
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor(model, operation)
  const dot = cursor.indexOf('.')
  if (dot < 1) throw invalidCursor(model, operation)
  const body = cursor.slice(0, dot)
  // Compared as text, so only the one canonical spelling of the MAC is accepted.
  const given = Buffer.from(cursor.slice(dot + 1))
  const expected = Buffer.from(mac(key, signature(model, tenantId, keys), body).toString('base64url'))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor(model, operation)
  // The MAC proves tenantry wrote this body; the shape check only guards against a leaked key.
  let values: unknown
  try {
    values = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor(model, operation)
  }
  if (isObjectWith(values, 'b') && typeof values.b === 'string') return { bound: values.b }
  if (isObjectWith(values, 'x')) return { exact: sortValues(values.x, keys, model, operation) }
  return sortValues(values, keys, model, operation)
}

function sortValues(values: unknown, keys: SortKey[], model: TableModel, operation: string): CursorValue[] {
  if (!Array.isArray(values) || values.length !== keys.length || !values.every((v) => v === null || typeof v === 'string')) {
    throw invalidCursor(model, operation)
  }
  return values as CursorValue[]
}

/** A JSON object with exactly one member, `name`. */
function isObjectWith<K extends string>(body: unknown, name: K): body is Record<K, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && Object.hasOwn(body, name)
}

interface BoundKey {
  key: SortKey
  ref: RawBuilder<unknown>
  /** The cursor's value as SQL, or `null` when the last row had NULL here. */
  value: RawBuilder<unknown> | null
  nullable: boolean
}

/**
 * For a timestamp key, the exact (microsecond) value of the cursor row, read by primary key from
 * the table in one index probe, as long as it is still within a millisecond of the cursor's
 * value; otherwise (the row was purged or its sort value changed) the cursor's value widened by a
 * millisecond in the direction that can repeat a row of that millisecond but never skip one.
 */
function exactTimestamp(model: TableModel, key: SortKey, text: string, type: string, pk: { text: string; type: string }, tenantId: string | null) {
  const value = sql`${text}::${sql.id(type)}`
  const ms = sql`interval '1 millisecond'`
  const col = sql`s.${sql.id(key.column)}`
  const fallback = key.direction === 'asc' ? sql`${value} - ${ms}` : sql`${value} + ${ms}`
  return sql`coalesce((select ${col} from ${sql.id(model.schema, model.table)} as s
    where s.${sql.id(model.primaryKey)} = ${pk.text}::${sql.id(pk.type)} and ${col} > ${value} - ${ms} and ${col} < ${value} + ${ms}
      and ${rowVisibilityCondition(model, 's', { tenantId, view: 'all' })}), ${fallback})`
}

/** The keys bound to the cursor's values; `exact` values need no probe for a timestamp's microseconds. */
function bindKeys(model: TableModel, alias: string, keys: SortKey[], values: CursorValue[], exact: boolean, tenantId: string | null): BoundKey[] {
  const pkIndex = keys.findIndex((k) => k.column === model.primaryKey)
  const pkText = values[pkIndex]
  const pk = !exact && pkIndex >= 0 && pkText != null ? { text: pkText, type: model.columns.get(model.primaryKey)?.type ?? 'text' } : null
  return keys.map((key, i) => {
    const column = model.columns.get(key.column)
    const type = column?.type ?? 'text'
    const text = values[i] ?? null
    let value: RawBuilder<unknown> | null = null
    if (text !== null) {
      value = pk && TIMESTAMP_TYPES.has(type) && i !== pkIndex ? exactTimestamp(model, key, text, type, pk, tenantId) : sql`${text}::${sql.id(type)}`
    }
    return { key, ref: sql`${sql.id(alias)}.${sql.id(key.column)}`, value, nullable: column?.nullable ?? true }
  })
}

/** A row comparison is exact for these keys: one direction, and no NULL can decide a comparison wrongly. */
function rowComparable(keys: BoundKey[]): boolean {
  const direction = keys[0]!.key.direction
  return keys.every((k, i) => k.key.direction === direction && k.value !== null && (!k.nullable || (i > 0 ? k.key.nulls === 'first' : true)))
}

function rowComparison(keys: BoundKey[]): RawBuilder<SqlBool> {
  const op = sql.raw(keys[0]!.key.direction === 'asc' ? '>' : '<')
  if (keys.length === 1) return sql<SqlBool>`${keys[0]!.ref} ${op} ${keys[0]!.value}`
  return sql<SqlBool>`(${sql.join(keys.map((k) => k.ref))}) ${op} (${sql.join(keys.map((k) => k.value!))})`
}

const FALSE = sql<SqlBool>`false`

/**
 * Rows strictly after the cursor in the order of `keys`, NULLs placed as each key says. Built key
 * by key: a row is after the cursor when it is after it on this key, or equal on it and after it
 * on the next ones. Where that is exact, a run of keys becomes one row comparison, which an index
 * on those columns bounds (every NOT NULL ordering, and a nullable key whose NULLs sort first
 * while the cursor is on a non-NULL value, e.g. PostgreSQL's default for `desc`).
 */
function after(keys: BoundKey[]): RawBuilder<SqlBool> {
  if (keys.length === 0) return FALSE
  const [head, ...rest] = keys as [BoundKey, ...BoundKey[]]
  const { ref, value, nullable } = head
  const nullsLast = head.key.nulls === 'last'
  if (value === null) {
    // The cursor row had NULL here: equal means NULL too; non-NULL rows follow only if NULLs sort first.
    const tied = rest.length ? sql<SqlBool>`(${ref} is null and ${after(rest)})` : FALSE
    return nullsLast ? tied : sql<SqlBool>`(${ref} is not null or ${tied})`
  }
  const nullRows = nullable && nullsLast ? sql<SqlBool>` or ${ref} is null` : sql``
  if (rowComparable(keys)) return nullable && nullsLast ? sql<SqlBool>`(${rowComparison(keys)}${nullRows})` : rowComparison(keys)
  const op = sql.raw(head.key.direction === 'asc' ? '>' : '<')
  const equal = rest.length ? sql<SqlBool>` or (${ref} = ${value} and ${after(rest)})` : sql``
  return sql<SqlBool>`(${ref} ${op} ${value}${equal}${nullRows})`
}

/**
 * The keyset predicate of a page at `position`: a millisecond bound on the first key, or the rows
 * after the cursor row's values (exact, or with a timestamp's microseconds read back by key). When
 * the first key's NULLs cannot follow the cursor, a bound on that key alone (`>=` / `<=`) is added
 * so an index still narrows a mixed-direction scan.
 */
export function afterCursorPredicate(
  model: TableModel,
  alias: string,
  keys: SortKey[],
  position: CursorPosition,
  tenantId: string | null,
): RawBuilder<SqlBool> {
  if ('bound' in position) {
    const first = keys[0]!
    const type = model.columns.get(first.column)?.type ?? 'timestamptz'
    return sql<SqlBool>`${sql.id(alias)}.${sql.id(first.column)} ${sql.raw(first.direction === 'asc' ? '>=' : '<')} ${position.bound}::${sql.id(type)}`
  }
  const bound = bindKeys(model, alias, keys, positionValues(position), !Array.isArray(position), tenantId)
  const predicate = after(bound)
  const first = bound[0]!
  if (rowComparable(bound) || first.value === null || (first.nullable && first.key.nulls === 'last')) return predicate
  const op = sql.raw(first.key.direction === 'asc' ? '>=' : '<=')
  return sql<SqlBool>`(${first.ref} ${op} ${first.value} and ${predicate})`
}
