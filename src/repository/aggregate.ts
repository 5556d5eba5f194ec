import { sql, type RawBuilder } from 'kysely'
import { z } from 'zod'
import { TenantryError } from '../errors/tenantry-error.js'
import { columnError, validationError } from '../errors/validation-error.js'
import type { ColumnInfo, TableModel } from '../schema/table-model.js'
import { isArrayColumn, isJsonColumn } from './filter-values.js'
import type { WhereFilter } from './where-filter.js'

/**
 * `repo.aggregate()`: grouped counts, sums, averages, minima and maxima, computed by PostgreSQL in
 * one scoped statement.
 */

type ColumnList<Row> = readonly (keyof Row & string)[]

export interface AggregateOptions<Row> {
  where?: WhereFilter<Row>
  /** One column or a list; one result row per distinct combination, ordered by these columns. */
  groupBy?: (keyof Row & string) | ColumnList<Row>
  /** `count: true` adds `count` (rows per group). */
  count?: boolean
  /** Numeric columns; `sum.<col>` is a number, `null` when the group has no non-null value. */
  sum?: ColumnList<Row>
  /** Numeric columns; `avg.<col>` is a number (a double), `null` when there is no non-null value. */
  avg?: ColumnList<Row>
  /** Any orderable column; `min.<col>` has the column's own type, as `findMany` returns it. */
  min?: ColumnList<Row>
  max?: ColumnList<Row>
}

type Listed<X> = X extends readonly (infer K)[] ? K : X extends string ? X : never

/** One result row of `aggregate(options)`: the group columns, then the requested aggregates. */
export type AggregateRow<Row, O extends AggregateOptions<Row>> = { [K in Listed<O['groupBy']> & keyof Row]: Row[K] } & (O['count'] extends true
  ? { count: number }
  : unknown) &
  (O['sum'] extends ColumnList<Row> ? { sum: { [K in Listed<O['sum']>]: number | null } } : unknown) &
  (O['avg'] extends ColumnList<Row> ? { avg: { [K in Listed<O['avg']>]: number | null } } : unknown) &
  (O['min'] extends ColumnList<Row> ? { min: { [K in Listed<O['min']> & keyof Row]: Row[K] | null } } : unknown) &
  (O['max'] extends ColumnList<Row> ? { max: { [K in Listed<O['max']> & keyof Row]: Row[K] | null } } : unknown)

const RESULT_KEYS = ['count', 'sum', 'avg', 'min', 'max'] as const
const NUMERIC_TYPES = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'money', 'oid'])

const columnList = z.array(z.string()).min(1).max(64)
const optionsSchema = z.strictObject({
  where: z.unknown().optional(),
  groupBy: z.union([z.string(), columnList]).optional(),
  count: z.boolean().optional(),
  sum: columnList.optional(),
  avg: columnList.optional(),
  min: columnList.optional(),
  max: columnList.optional(),
})

type Fn = 'sum' | 'avg' | 'min' | 'max'

export interface AggregatePlan {
  where: unknown
  groupBy: string[]
  count: boolean
  /** Aggregate columns in selection order; aliases are positional (`a0`, `a1`, ...). */
  columns: { fn: Fn; column: string }[]
}

function column(model: TableModel, name: string, operation: string, what: string): ColumnInfo {
  const info = model.columns.get(name)
  if (!info) throw columnError(`${operation}: unknown column "${name}" in ${what}`, name, { table: model.name, operation })
  return info
}

/** Validates `aggregate` options against the table's columns; unknown keys are `VALIDATION`. */
export function planAggregate(model: TableModel, options: unknown, operation: string): AggregatePlan {
  const parsed = optionsSchema.safeParse(options ?? {})
  if (!parsed.success) throw validationError(`${operation}: invalid options`, parsed.error, { table: model.name, operation })
  const o = parsed.data
  const groupBy = o.groupBy === undefined ? [] : typeof o.groupBy === 'string' ? [o.groupBy] : o.groupBy
  for (const name of groupBy) {
    const info = column(model, name, operation, 'groupBy')
    if ((RESULT_KEYS as readonly string[]).includes(name)) {
      throw columnError(`${operation}: a group column named "${name}" would collide with the aggregate results`, name, { table: model.name, operation })
    }
    if (info.type === 'json') throw columnError(`${operation}: cannot group by the json column "${name}" (jsonb can)`, name, { table: model.name, operation })
  }
  const columns: AggregatePlan['columns'] = []
  for (const fn of ['sum', 'avg', 'min', 'max'] as const) {
    for (const name of o[fn] ?? []) {
      const info = column(model, name, operation, fn)
      const numeric = NUMERIC_TYPES.has(info.type)
      if ((fn === 'sum' || fn === 'avg') && !numeric) {
        throw columnError(`${operation}: ${fn} needs a numeric column; "${name}" is ${info.type}`, name, { table: model.name, operation })
      }
      if (isJsonColumn(info) || (isArrayColumn(info) && fn !== 'min' && fn !== 'max')) {
        throw columnError(`${operation}: ${fn} is not available on "${name}" (${info.type})`, name, { table: model.name, operation })
      }
      columns.push({ fn, column: name })
    }
  }
  if (!o.count && columns.length === 0) {
    throw new TenantryError('VALIDATION', `${operation}: nothing to aggregate (ask for count: true, sum, avg, min or max)`, {
      table: model.name,
      operation,
    })
  }
  return { where: o.where, groupBy, count: o.count === true, columns }
}

/** The select list and group keys of a plan, on table alias `t`. */
export function aggregateSelections(plan: AggregatePlan): { select: RawBuilder<unknown>[]; groupBy: RawBuilder<unknown>[] } {
  const ref = (name: string) => sql`t.${sql.id(name)}`
  const groupBy = plan.groupBy.map(ref)
  const select = [
    ...plan.groupBy.map((name, i) => sql`${ref(name)} as ${sql.id(`g${i}`)}`),
    ...(plan.count ? [sql`count(*) as "n"`] : []),
    // avg as float8: a double is what the result holds anyway, and pg parses float8 to a number.
    ...plan.columns.map(
      ({ fn, column }, i) => sql`${fn === 'avg' ? sql`avg(${ref(column)})::float8` : sql`${sql.raw(fn)}(${ref(column)})`} as ${sql.id(`a${i}`)}`,
    ),
  ]
  return { select, groupBy }
}

/**
 * Turns result rows into `{ ...groups, count, sum, avg, min, max }`. Counts and sums arrive as
 * text for `bigint`/`numeric` (pg keeps them exact); they become numbers here, exact up to
 * `Number.MAX_SAFE_INTEGER` (2^53 - 1) and rounded to the nearest double beyond it.
 */
export function shapeAggregateRows(plan: AggregatePlan, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {}
    plan.groupBy.forEach((name, i) => {
      out[name] = row[`g${i}`]
    })
    if (plan.count) out.count = Number(row.n)
    plan.columns.forEach(({ fn, column }, i) => {
      out[fn] ??= {}
      const bucket = out[fn] as Record<string, unknown>
      const value = row[`a${i}`]
      bucket[column] = fn === 'sum' || fn === 'avg' ? (value === null || value === undefined ? null : Number(value)) : (value ?? null)
    })
    return out
  })
}
