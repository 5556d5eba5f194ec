import { createHash } from 'node:crypto'
import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import type { TableModel } from '../schema/table-model.js'
import type { SortKey } from './order-by.js'

/** Name of the extra column a page query selects to build the next cursor; never returned. */
export const CURSOR_COLUMN = '__tenantry_cursor'

const payloadSchema = z.strictObject({
  o: z.array(z.tuple([z.string(), z.enum(['asc', 'desc'])])).min(1),
  v: z.array(z.string()).min(1),
})

function checksum(body: string, model: TableModel, tenantId: string | null): string {
  return createHash('sha256').update(`${model.name}\0${tenantId ?? '*'}\0${body}`).digest('base64url').slice(0, 16)
}

/**
 * Encodes the sort values of the last row of a page. Values travel as PostgreSQL's own text form,
 * so a `timestamptz` keeps its microseconds and no row is skipped or repeated.
 */
export function encodeCursor(model: TableModel, tenantId: string | null, keys: SortKey[], values: string[]): string {
  const body = Buffer.from(JSON.stringify({ o: keys.map((k) => [k.column, k.direction]), v: values })).toString('base64url')
  return `${body}.${checksum(body, model, tenantId)}`
}

/**
 * Decodes a cursor made by `encodeCursor` for the same table, tenant and ordering. Anything else
 * (edited, truncated, from another table, tenant or ordering) is a `VALIDATION` error.
 */
export function decodeCursor(model: TableModel, tenantId: string | null, keys: SortKey[], cursor: unknown): string[] {
  const invalid = () => new TenantryError('VALIDATION', `${model.name}.page: invalid cursor`, { table: model.name, operation: `${model.name}.page` })
  if (typeof cursor !== 'string' || cursor.length > 4096) throw invalid()
  const [body, sum, extra] = cursor.split('.')
  if (!body || !sum || extra !== undefined || checksum(body, model, tenantId) !== sum) throw invalid()
  let parsed: z.infer<typeof payloadSchema>
  try {
    parsed = payloadSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')))
  } catch {
    throw invalid()
  }
  const sameOrder =
    parsed.o.length === keys.length &&
    parsed.v.length === keys.length &&
    parsed.o.every(([column, direction], i) => keys[i]?.column === column && keys[i]?.direction === direction)
  if (!sameOrder) throw invalid()
  return parsed.v
}

/** `ARRAY[col1::text, ...]`, selected alongside each row of a page. */
export function cursorValuesSelection(alias: string, keys: SortKey[]): RawBuilder<unknown> {
  return sql`array[${sql.join(keys.map((k) => sql`${sql.id(alias)}.${sql.id(k.column)}::text`))}] as ${sql.id(CURSOR_COLUMN)}`
}

/**
 * Rows strictly after the cursor in the page's ordering. With one direction throughout it is a row
 * comparison, which an index on the sort columns can bound; with mixed directions it is the
 * expanded form, plus a bound on the first column so the index still narrows the scan.
 */
export function afterCursorPredicate(model: TableModel, alias: string, keys: SortKey[], values: string[]): RawBuilder<SqlBool> {
  const typed = keys.map((k, i) => {
    const type = model.columns.get(k.column)?.type ?? 'text'
    return { ref: sql`${sql.id(alias)}.${sql.id(k.column)}`, value: sql`${values[i]}::${sql.id(type)}`, direction: k.direction }
  })
  const first = typed[0]!
  if (typed.every((k) => k.direction === first.direction)) {
    const op = sql.raw(first.direction === 'asc' ? '>' : '<')
    return sql<SqlBool>`(${sql.join(typed.map((k) => k.ref))}) ${op} (${sql.join(typed.map((k) => k.value))})`
  }
  const branches = typed.map((key, i) => {
    const equalities = typed.slice(0, i).map((prev) => sql`${prev.ref} = ${prev.value}`)
    const step = key.direction === 'asc' ? sql`${key.ref} > ${key.value}` : sql`${key.ref} < ${key.value}`
    return sql`(${sql.join([...equalities, step], sql` and `)})`
  })
  const bound = first.direction === 'asc' ? sql`${first.ref} >= ${first.value}` : sql`${first.ref} <= ${first.value}`
  return sql<SqlBool>`(${bound} and (${sql.join(branches, sql` or `)}))`
}
