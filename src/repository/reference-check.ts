import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { denied } from '../execution/audited-write.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { rowVisibilityCondition, sameTenantPredicate } from '../predicates/row-visibility.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { referencesOf, referencesTo, type Reference } from '../schema/references.js'
import type { TableModel } from '../schema/table-model.js'

/**
 * The checks of declared references, made in the same statement as the write they guard (no
 * extra round trip, no window between check and write): a condition on each written row, in the
 * statement's final select, that calls `reference_guard` (migration 0006), which fails the whole
 * statement when the condition does not hold. A reference to a missing, soft-deleted or other
 * tenant's row fails alike, with the same message, so the error tells nothing about rows the scope
 * cannot see. A condition per row (a correlated probe of the referenced table's key) costs what the
 * hand-written `insert ... select ... from parent` costs; one condition over all the rows (an
 * anti-join) cost about 0.1 ms more per statement to plan and run.
 */

const REFERENCE_RULE = 'reference'
const RESTRICT_RULE = 'restrict'

/** A condition on one written row, given the alias the final select reads it by (`created`, `changed`, `audit_row`). */
export type RowCheck = (row: string) => RawBuilder<SqlBool>

function guard(state: RequestState, ok: RawBuilder<SqlBool>, rule: string, table: string, column: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.id(state.runtime.schema, 'reference_guard')}(${ok}, ${rule}, ${table}, ${column})`
}

function joinChecks(checks: RowCheck[]): RowCheck | undefined {
  if (checks.length === 0) return undefined
  return (row) =>
    sql<SqlBool>`(${sql.join(
      checks.map((check) => check(row)),
      sql` and `,
    )})`
}

/**
 * The referenced row's tenant is compared with the written row's, which is always the scope's
 * tenant: an insert takes the scope's tenant and an update reaches only the scope's rows and cannot
 * move them. So a check holds no value of the call and is built once per table, filter and row
 * alias. On Citus the probe also names the scope's tenant as a constant, which is what routes it
 * to the tenant's shard (as `tenantShardFilter` does for the change itself): built per call there.
 */
function checkOnce(state: RequestState, model: TableModel, key: string, build: (tenantId: string | null) => RowCheck | undefined): RowCheck | undefined {
  const routingTenant = state.runtime.distributedAudit ? requestTenantId(state) : null
  return routingTenant === null ? memoized(model, key, () => build(null)) : build(routingTenant)
}

const builtChecks = new WeakMap<TableModel, Map<string, RowCheck | undefined>>()

function memoized(model: TableModel, key: string, build: () => RowCheck | undefined): RowCheck | undefined {
  let byKey = builtChecks.get(model)
  if (byKey === undefined) {
    byKey = new Map()
    builtChecks.set(model, byKey)
  }
  if (!byKey.has(key)) {
    const check = build()
    const byRow = new Map<string, RawBuilder<SqlBool>>()
    byKey.set(
      key,
      check &&
        ((row) => {
          let built = byRow.get(row)
          if (built === undefined) {
            built = check(row)
            byRow.set(row, built)
          }
          return built
        }),
    )
  }
  return byKey.get(key)
}

/**
 * Each reference of a written row is null or names a live row of the referenced table in the row's
 * own tenant. `columns` limits the check to the references an update sets; `followsSoftDelete` to
 * references that follow soft deletes (a restore). `undefined` when nothing is to be checked: the
 * statement stays as it was.
 *
 * @example
 * insertStatement(state, model, rows, action, { ...options, ...withCheck(referenceCheck(state, model)) })
 */
export function referenceCheck(state: RequestState, model: TableModel, filter: { columns?: string[]; followsSoftDelete?: boolean } = {}): RowCheck | undefined {
  const references = referencesOf(model).filter(
    (reference) => (!filter.columns || filter.columns.includes(reference.column)) && !(filter.followsSoftDelete && reference.onSoftDelete === 'ignore'),
  )
  if (references.length === 0) return undefined
  return checkOnce(state, model, `reference:${references.map((r) => r.column).join(',')}`, (tenantId) =>
    joinChecks(
      references.map((reference) => {
        const parent = state.runtime.models.get(reference.table)!
        const live = rowVisibilityCondition(parent, 'p', { tenantId, view: 'live' })
        return (row: string) => {
          const value = sql`${sql.id(row)}.${sql.id(reference.column)}`
          const sameTenant = sameTenantPredicate(parent, 'p', sql`${sql.id(row)}.${sql.id(model.tenantColumn!)}`)
          const ok = sql<SqlBool>`${value} is null or exists (
            select 1 from ${sql.id(parent.schema, parent.table)} as p where p.${sql.id(parent.primaryKey)} = ${value} and ${sameTenant} and ${live})`
          return guard(state, ok, REFERENCE_RULE, model.name, reference.column)
        }
      }),
    ),
  )
}

/**
 * No live row references a just soft-deleted row through a reference declared
 * `onSoftDelete: 'restrict'`. Rows of the same statement (CTE `changed`) do not count (a
 * self-referencing table soft-deleting a parent and its children together).
 */
export function restrictCheck(state: RequestState, parent: TableModel): RowCheck | undefined {
  const restricting = referencesTo(state.runtime.models, parent).filter(({ reference }) => reference.onSoftDelete === 'restrict')
  if (restricting.length === 0) return undefined
  return checkOnce(state, parent, 'restrict', (tenantId) =>
    joinChecks(
      restricting.map(({ child, reference }) => {
        const live = rowVisibilityCondition(child, 'c', { tenantId, view: 'live' })
        const pk = sql.id(child.primaryKey)
        const notInStatement = child === parent ? sql` and not exists (select 1 from changed as y where y.${pk} = c.${pk})` : sql``
        return (row: string) => {
          const sameTenant = sameTenantPredicate(child, 'c', sql`${sql.id(row)}.${sql.id(parent.tenantColumn!)}`)
          const ok = sql<SqlBool>`not exists (select 1 from ${sql.id(child.schema, child.table)} as c
            where c.${sql.id(reference.column)} = ${sql.id(row)}.${sql.id(parent.primaryKey)} and ${sameTenant} and ${live}${notInStatement})`
          return guard(state, ok, RESTRICT_RULE, child.name, reference.column)
        }
      }),
    ),
  )
}

/** The check of a soft delete (`restrict`) or a restore (the references it brings back to life). */
export function deletedStateCheck(state: RequestState, model: TableModel, to: 'deleted' | 'live'): RowCheck | undefined {
  return to === 'deleted' ? restrictCheck(state, model) : referenceCheck(state, model, { followsSoftDelete: true })
}

/** `{ check }` for a write's options, or nothing, so statements without references are unchanged. */
export function withCheck(check: RowCheck | undefined): { check?: RowCheck } {
  return check ? { check } : {}
}

/**
 * The error of a failed guard, in the repository's words: `FOREIGN_KEY_VIOLATION` (audited as
 * `denied`) naming the column and the referenced table, or `CONFLICT` naming the referencing table
 * and column of a `restrict`. Any other error is returned as it is.
 */
export function explainReferenceError(error: unknown, state: RequestState, operation: string): unknown {
  if (!(error instanceof TenantryError) || error.code !== 'FOREIGN_KEY_VIOLATION' || !error.table || !error.column) return error
  const child = state.runtime.models.get(error.table)
  const reference: Reference | undefined = child ? referencesOf(child).find((r) => r.column === error.column) : undefined
  if (!child || !reference) return error
  const details = { table: child.name, column: reference.column, operation, ...(error.sqlState ? { sqlState: error.sqlState } : {}) }
  if (error.constraint === `tenantry_${REFERENCE_RULE}`) {
    return denied(
      new TenantryError(
        'FOREIGN_KEY_VIOLATION',
        `${operation}: "${reference.column}" must reference a live row of "${reference.table}" in the same tenant`,
        details,
        { cause: error.cause },
      ),
    )
  }
  if (error.constraint === `tenantry_${RESTRICT_RULE}`) {
    return new TenantryError(
      'CONFLICT',
      `${operation}: live rows of "${child.name}" still reference it ("${reference.column}", onSoftDelete: 'restrict'); soft-delete them first`,
      details,
      { cause: error.cause },
    )
  }
  return error
}
