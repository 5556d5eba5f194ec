import type { CompiledQuery, Kysely, QueryId, QueryResult, RawBuilder } from 'kysely'
import { recordTimestampTexts, type TimestampTexts } from '../runtime/timestamp-texts.js'
import type { TableModel } from '../schema/table-model.js'

/**
 * Statements whose SQL text depends only on the table and the shape of the call (view, system or
 * tenant scope, lock), never on the values: `findById` is the hot one. They are built once with
 * placeholder values through the same builders as every other statement (so the scope's
 * predicates still come from `row-visibility.ts`), compiled once, and afterwards only their
 * parameters are filled in: no SQL fragments, no operation-node tree, no compiler per call.
 */

const PLACEHOLDER_PREFIX = '\u0000tenantry-placeholder-'

/** Placeholder values for the builders: strings no caller can pass (tenant ids and keys are checked first). */
const PLACEHOLDERS = Array.from({ length: 64 }, (_, index) => `${PLACEHOLDER_PREFIX}${index}`)

/** A statement that embedded a placeholder in a larger value cannot be filled in: it is built per call. */
const UNCACHEABLE = null

interface Template {
  sql: string
  /** The compiled parameters, with a placeholder's position where a per-call value goes. */
  parameters: readonly unknown[]
  slots: readonly (number | -1)[]
  query: CompiledQuery['query']
  queryId: QueryId
}

const templates = new WeakMap<TableModel, Map<string, Template | typeof UNCACHEABLE>>()

function compileTemplate(db: Kysely<any>, build: (...values: string[]) => RawBuilder<unknown>): Template | typeof UNCACHEABLE {
  const compiled = build(...PLACEHOLDERS).compile(db)
  const slots = compiled.parameters.map((value) => (typeof value === 'string' ? PLACEHOLDERS.indexOf(value) : -1))
  const embedded = compiled.parameters.some((value, i) => slots[i] === -1 && typeof value === 'string' && value.includes(PLACEHOLDER_PREFIX))
  if (embedded || compiled.sql.includes(PLACEHOLDER_PREFIX)) return UNCACHEABLE
  return { sql: compiled.sql, parameters: compiled.parameters, slots, query: compiled.query, queryId: compiled.queryId }
}

/**
 * Runs the statement `build` makes, compiled once per `model` and `shape`. `build` receives one
 * placeholder per entry of `values` and must produce the same SQL text for every call with the
 * same `shape`; `values` fill the placeholders in order. A Kysely instance with plugins (a host's
 * `db` with, say, `CamelCasePlugin`) gets the statement built and compiled per call, as before,
 * since a plugin may rewrite each query differently. With `texts`, the exact text of the
 * timestamps read is recorded there (see `TimestampTexts`).
 *
 * @example
 * const { rows } = await executeCached(db, model, `findById:live:tenant`, [tenantId, id], (t, k) => selectStatement(...))
 */
export function executeCached<R>(
  db: Kysely<any>,
  model: TableModel,
  shape: string,
  values: readonly unknown[],
  build: (...placeholders: string[]) => RawBuilder<R>,
  texts?: TimestampTexts,
): Promise<QueryResult<R>> {
  const executor = db.getExecutor()
  if (executor.plugins.length > 0 || values.length > PLACEHOLDERS.length) return executeRecording(db, build(...(values as string[])), texts)
  let byShape = templates.get(model)
  if (byShape === undefined) {
    byShape = new Map()
    templates.set(model, byShape)
  }
  let template = byShape.get(shape)
  if (template === undefined) {
    template = compileTemplate(db, build as (...values: string[]) => RawBuilder<unknown>)
    byShape.set(shape, template)
  }
  if (template === UNCACHEABLE) return executeRecording(db, build(...(values as string[])), texts)
  const { parameters, slots } = template
  const bound = new Array<unknown>(parameters.length)
  for (let i = 0; i < parameters.length; i++) {
    const slot = slots[i]!
    bound[i] = slot === -1 ? parameters[i] : values[slot]
  }
  const compiled: CompiledQuery<R> = { sql: template.sql, parameters: bound, query: template.query, queryId: template.queryId }
  if (texts) recordTimestampTexts(bound, texts)
  return executor.executeQuery<R>(compiled)
}

/** `statement.execute(db)`, recording the timestamps' text into `texts` when given. */
export function executeRecording<R>(db: Kysely<any>, statement: RawBuilder<R>, texts: TimestampTexts | undefined): Promise<QueryResult<R>> {
  if (texts === undefined) return statement.execute(db)
  const compiled = statement.compile(db)
  recordTimestampTexts(compiled.parameters, texts)
  return db.getExecutor().executeQuery<R>(compiled)
}
