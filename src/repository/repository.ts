import type { Kysely, RawBuilder, SqlBool } from 'kysely'
import { auditedWrite, denied } from '../execution/audited-write.js'
import { explainCitusLimit, runWriteStatement, splitsAudit } from '../execution/split-audit-statement.js'
import type { AuditEvent } from '../runtime/audit-event.js'
import type { HookArgsOf, TableHooksOf } from '../schema/table-declaration.js'
import { mapDatabaseError } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { TimestampTexts } from '../runtime/timestamp-texts.js'
import { retrySingle } from '../execution/single-statement-retry.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import { authorizeTableAccess } from '../execution/table-permissions.js'
import { softDeleteAssignments, type DeletedView, type RowVisibility } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { afterCursorPredicate, checkKeysetColumns, decodeCursor, encodeCursor } from './cursor.js'
import { checkId, checkReadOptions, checkWritableColumns, isPlainObject } from './input-validation.js'
import { insertChunks, rowsPerInsert, distinctColumnCount } from './insert-chunks.js'
import { MAX_LIMIT, resolveLimit } from './limits.js'
import { aggregateSelections, planAggregate, shapeAggregateRows, type AggregateOptions, type AggregateRow } from './aggregate.js'
import { checkBulkFilter, compileBulkFilter, type BulkFilter } from './bulk-filter.js'
import { noticeTruncation } from './truncation-notice.js'
import { auditActionName, operationName, type RepositoryOperation, type WriteOperation } from './operations.js'
import { assignmentsFor, checkedInsert, preparePatch, prepareInsert, stampUpdatedAt, updatedAtGuard, withTenant } from './write-input.js'
import { parseOrderBy, withTiebreaker, type OrderByInput } from './order-by.js'
import { aggregateStatement, countStatement, existsStatement, primaryKeyEquals, selectStatement, type ReadTarget, type RowLock } from './read-statements.js'
import { compileWhere, type WhereFilter } from './where-filter.js'
import { deleteStatement, targetCte, updateStatement, type TargetRows } from './write-statements.js'
import { executeInsert, executeUpdate, fixedSet, patchSet } from './compiled-writes.js'
import { lockTargetRows, removedRowsBefore, takeBeforeRows } from './hook-rows.js'
import { tenantSafeReplacement } from './hook-replacement.js'
import { deletedStateCheck, explainReferenceError, referenceCheck, withCheck } from './reference-check.js'
import { cascadeDeletedState, cascadesFrom, deletedAtOf, hasCascade } from './soft-delete-cascade.js'
import { countAllStatement, findByIdStatement, listStatement, pageStatement } from './cached-reads.js'
import { executeRecording } from './statement-cache.js'
import { checkOptionKeys } from '../validation/strict-options.js'

export interface FindManyOptions<Row> {
  where?: WhereFilter<Row>
  orderBy?: OrderByInput<keyof Row & string>
  /** Defaults to 100, capped at 1000. */
  limit?: number
  offset?: number
  /** Locks the returned rows (`for update` / `for share`) until the transaction ends; only inside `scope.transaction`. */
  lock?: RowLock
}

export interface FindByIdOptions {
  /** Locks the row (`for update` / `for share`) until the transaction ends; only inside `scope.transaction`. */
  lock?: RowLock
}

export interface PageOptions<Row> {
  where?: WhereFilter<Row>
  /** Defaults to the primary key; the primary key is always added as the final tiebreaker. */
  orderBy?: OrderByInput<keyof Row & string>
  limit?: number
  /** `nextCursor` of the previous page. */
  after?: string | null
}

export interface Page<Row> {
  items: Row[]
  /** Opaque; `null` on the last page. */
  nextCursor: string | null
}

export interface UpdateOptions {
  /** Optimistic concurrency: the update fails with `CONFLICT` unless `updated_at` still equals this. */
  expectedUpdatedAt?: Date | string
}

/** Options of writes that take none yet: any key is `VALIDATION` (a misspelt option never goes unnoticed). */
export type NoWriteOptions = Record<string, never>

/**
 * Tenant-scoped access to one table. Every read, count, update and delete carries the scope's
 * tenant and soft-delete predicates; every write is audited in the same statement.
 *
 * @example
 * const projects = scope.repo('projects')
 * const apollo = await projects.create({ name: 'Apollo' })
 * await projects.update(apollo.id, { name: 'Artemis' }, { expectedUpdatedAt: apollo.updated_at })
 */
export class Repository<Row = Record<string, unknown>, Insert = Record<string, unknown>, Update = Record<string, unknown>> {
  readonly #state: RequestState
  readonly #model: TableModel
  readonly #view: DeletedView

  constructor(state: RequestState, model: TableModel, view: DeletedView = 'live') {
    this.#state = state
    this.#model = model
    this.#view = view
  }

  /** The same repository, also showing soft-deleted rows. */
  withDeleted(): Repository<Row, Insert, Update> {
    return new Repository(this.#state, this.#model, 'all')
  }

  /** The same repository, showing only soft-deleted rows. */
  onlyDeleted(): Repository<Row, Insert, Update> {
    return new Repository(this.#state, this.#model, 'deleted')
  }

  // ---- reads ---------------------------------------------------------------------------------

  /**
   * The row with this primary key, or `null` (also when it belongs to another tenant). One round trip.
   *
   * @example
   * await scope.transaction(async (tx) => {
   *   const project = await tx.repo('projects').findById(id, { lock: 'update' })
   * })
   */
  async findById(id: Row[keyof Row] | string | number, options?: FindByIdOptions): Promise<Row | null> {
    const operation = this.#operation('findById')
    const lock = this.#rowLock(checkReadOptions(this.#model, options, operation, ['lock']), operation)
    await this.#ready()
    const key = checkId(this.#model, id, operation)
    const rows = await this.#read(operation, (db) => findByIdStatement(db, this.#model, this.#visibility(this.#view), key, lock))
    return (rows[0] as Row | undefined) ?? null
  }

  /** Like `findById`, but a missing row is a `NOT_FOUND` error. */
  async getById(id: Row[keyof Row] | string | number): Promise<Row> {
    const row = await this.findById(id)
    if (row === null) throw this.#notFound('getById')
    return row
  }

  /** The first row matching `where` in `orderBy` order, or `null`. */
  async findOne(options: Omit<FindManyOptions<Row>, 'limit' | 'offset'> = {}): Promise<Row | null> {
    const rows = await this.#findMany(
      { ...checkReadOptions(this.#model, options, this.#operation('findOne'), ['where', 'orderBy', 'lock']), limit: 1 },
      'findOne',
    )
    return rows[0] ?? null
  }

  /**
   * Rows matching `where`; `limit` defaults to 100 and is capped at 1000. When more rows match than
   * a limit the caller did not choose, a one-time warning says so (use `page()` to walk them all).
   */
  async findMany(options: FindManyOptions<Row> = {}): Promise<Row[]> {
    return this.#findMany(checkReadOptions(this.#model, options, this.#operation('findMany'), ['where', 'orderBy', 'limit', 'offset', 'lock']), 'findMany')
  }

  /**
   * A keyset page: `{ items, nextCursor }`. Pass `nextCursor` as `after` for the next page. Nullable
   * sort keys follow PostgreSQL's NULL order (last for `asc`, first for `desc`) unless a key says
   * `'nullsFirst'`/`'nullsLast'`.
   */
  async page(options: PageOptions<Row> = {}): Promise<Page<Row>> {
    const operation = this.#operation('page')
    const opts = checkReadOptions(this.#model, options, operation, ['where', 'orderBy', 'limit', 'after'])
    await this.#ready()
    const limit = resolveLimit(opts.limit, operation)
    const keys = withTiebreaker(this.#model, parseOrderBy(this.#model, opts.orderBy, operation))
    checkKeysetColumns(this.#model, keys, operation)
    const filters = compileWhere(this.#model, 't', opts.where, operation)
    const tenantId = requestTenantId(this.#state)
    const cursorKey = this.#state.runtime.cursorKey
    const values = opts.after === undefined || opts.after === null ? null : decodeCursor(cursorKey, this.#model, tenantId, keys, opts.after, operation)
    // Without a filter the statement is compiled once (see `pageStatement`); with one it is built here.
    if (values && opts.where !== undefined) filters.push(afterCursorPredicate(this.#model, 't', keys, values, tenantId))
    const target: ReadTarget = { visibility: this.#visibility(this.#view), filters }
    // The exact text of the timestamps read, for the next cursor (a `Date` holds milliseconds).
    const texts = new TimestampTexts()
    const rows = await this.#read(operation, (db) =>
      opts.where === undefined
        ? pageStatement(db, this.#model, target.visibility, keys, values, limit + 1, texts)
        : executeRecording(db, selectStatement(this.#model, target, { orderBy: keys, limit: limit + 1 }), texts),
    )
    if (rows.length <= limit) return { items: rows as Row[], nextCursor: null }
    const nextCursor = encodeCursor(cursorKey, this.#model, tenantId, keys, rows[limit - 1]!, rows[limit]!, texts, operation)
    rows.length = limit
    return { items: rows as Row[], nextCursor }
  }

  /** Number of rows matching `where` in this view. */
  async count(options: { where?: WhereFilter<Row> } = {}): Promise<number> {
    const operation = this.#operation('count')
    const opts = checkReadOptions(this.#model, options, operation, ['where'])
    await this.#ready()
    const target = this.#target(this.#view, compileWhere(this.#model, 't', opts.where, operation))
    const rows = await this.#read(operation, (db) =>
      opts.where === undefined ? countAllStatement(db, this.#model, target.visibility) : countStatement(this.#model, target).execute(db),
    )
    return Number(rows[0]?.count ?? 0)
  }

  /**
   * Grouped counts, sums, averages, minima and maxima in one scoped statement: one result row per
   * group (one row when there is no `groupBy`), ordered by the group columns.
   *
   * @example
   * const byStatus = await repo.aggregate({ where: { env: 'prod' }, groupBy: 'status', count: true, sum: ['budget'] })
   * // [{ status: 'active', count: 12, sum: { budget: 4200 } }, ...]
   */
  async aggregate<const O extends AggregateOptions<Row>>(options: O): Promise<AggregateRow<Row, O>[]> {
    const operation = this.#operation('aggregate')
    const plan = planAggregate(this.#model, options, operation)
    await this.#ready()
    const target = this.#target(this.#view, compileWhere(this.#model, 't', plan.where, operation))
    const rows = await this.#read(operation, (db) => aggregateStatement(this.#model, target, aggregateSelections(plan)).execute(db))
    return shapeAggregateRows(plan, rows) as AggregateRow<Row, O>[]
  }

  /** Whether any row matches `where` in this view. */
  async exists(options: { where?: WhereFilter<Row> } = {}): Promise<boolean> {
    const operation = this.#operation('exists')
    const opts = checkReadOptions(this.#model, options, operation, ['where'])
    await this.#ready()
    const target = this.#target(this.#view, compileWhere(this.#model, 't', opts.where, operation))
    const rows = await this.#read(operation, (db) => existsStatement(this.#model, target).execute(db))
    return rows[0]?.exists === true
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Inserts one row; the tenant column is filled from the context. One round trip with its audit row. */
  async create(input: Insert, options?: NoWriteOptions): Promise<Row> {
    this.#options(options, 'create')
    const rows = await this.#insert([input], 'create')
    return rows[0]!
  }

  /**
   * Inserts many rows with one audit row each: one statement (one round trip) for up to 1,000 rows,
   * else statements of up to 1,000 rows (each under PostgreSQL's 65,535 bind parameters) in one
   * transaction, all-or-nothing.
   */
  async createMany(inputs: Insert[], options?: NoWriteOptions): Promise<Row[]> {
    this.#options(options, 'createMany')
    if (!Array.isArray(inputs)) {
      throw new TenantryError('VALIDATION', `${this.#operation('createMany')}: expects an array`, { table: this.#model.name })
    }
    if (inputs.length === 0) return []
    return this.#insert(inputs, 'createMany')
  }

  /** Updates one row by primary key; `CONFLICT` when `expectedUpdatedAt` is stale, `NOT_FOUND` when out of scope. */
  async update(id: Row[keyof Row] | string | number, patch: Update, options: UpdateOptions = {}): Promise<Row> {
    const operation = this.#operation('update')
    this.#options(options, 'update', ['expectedUpdatedAt'])
    await this.#ready()
    const key = checkId(this.#model, id, operation)
    let guard: RawBuilder<SqlBool> | undefined
    if (options.expectedUpdatedAt !== undefined) guard = updatedAtGuard(this.#model, options.expectedUpdatedAt, operation)
    const values = await preparePatch(this.#state, this.#model, patch, 'update', String(key))
    const rows = await this.#write('update', String(key), ['beforeUpdate', 'afterUpdate'], async (db, inner, events) => {
      const target = this.#target(this.#view, [this.#pkEquals(key)])
      const finalValues = await this.#beforeUpdate(values, inner, [key], operation, db, target)
      const changed = await executeUpdate(
        db,
        inner,
        this.#model,
        target.visibility,
        key,
        patchSet(this.#model, finalValues),
        this.#auditAction('update'),
        {
          ...this.#writeOptions('afterUpdate'),
          ...(guard ? { guard } : {}),
          ...withCheck(referenceCheck(inner, this.#model, { columns: Object.keys(finalValues) })),
        },
        events,
      )
      const before = this.#takeBefore('afterUpdate', changed)
      if (changed.length === 0) {
        if (guard && (await this.#existsInView(db, key))) {
          throw new TenantryError('CONFLICT', `${operation}: the row was changed since it was read (updated_at differs)`, {
            table: this.#model.name,
            operation,
          })
        }
        throw this.#notFound('update', true)
      }
      await this.#hooks.afterUpdate?.(changed as never, { ...this.#hookArgs(inner), before })
      return changed
    })
    return rows[0] as Row
  }

  /**
   * Updates every row matching `where` in one statement, with one audit row per row. A filter with
   * no condition is refused: pass `'all'` to update every row in the view.
   */
  async updateMany(where: BulkFilter<Row>, patch: Update, options?: NoWriteOptions): Promise<{ count: number }> {
    const operation = this.#operation('updateMany')
    this.#options(options, 'updateMany')
    checkBulkFilter(this.#model, where, operation)
    await this.#ready()
    const filters = compileBulkFilter(this.#model, where, operation)
    const values = await preparePatch(this.#state, this.#model, patch, 'updateMany', null)
    const rows = await this.#write('updateMany', null, ['beforeUpdate', 'afterUpdate'], async (db, inner, events) => {
      const target = this.#target(this.#view, filters)
      const finalValues = await this.#beforeUpdate(values, inner, null, operation, db, target)
      const statement = updateStatement(inner, this.#model, target, assignmentsFor(this.#model, finalValues), this.#auditAction('updateMany'), {
        ...this.#writeOptions('afterUpdate'),
        ...withCheck(referenceCheck(inner, this.#model, { columns: Object.keys(finalValues) })),
      })
      const changed = await this.#runWrite(db, statement, events)
      const before = this.#takeBefore('afterUpdate', changed)
      if (changed.length > 0) await this.#hooks.afterUpdate?.(changed as never, { ...this.#hookArgs(inner), before })
      return changed
    })
    return { count: rows.length }
  }

  /** Marks one row deleted; it disappears from the default view. */
  async softDelete(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    this.#options(options, 'softDelete')
    await this.#ready()
    const key = this.#idFor('softDelete', id)
    const rows = await this.#changeDeletedState('softDelete', { key }, 'deleted')
    return rows[0] as Row
  }

  /** Marks every live row matching `where` deleted, with one audit row each; `'all'` for every live row. */
  async softDeleteMany(where: BulkFilter<Row>, options?: NoWriteOptions): Promise<{ count: number }> {
    const operation = this.#operation('softDeleteMany')
    this.#options(options, 'softDeleteMany')
    checkBulkFilter(this.#model, where, operation)
    await this.#ready()
    const filters = compileBulkFilter(this.#model, where, operation)
    const rows = await this.#changeDeletedState('softDeleteMany', { filters }, 'deleted')
    return { count: rows.length }
  }

  /** Brings a soft-deleted row back; `UNIQUE_VIOLATION` names the key a live row now holds. */
  async restore(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    this.#options(options, 'restore')
    await this.#ready()
    const key = this.#idFor('restore', id)
    const rows = await this.#changeDeletedState('restore', { key }, 'live')
    return rows[0] as Row
  }

  /** Deletes one row for good (live or soft-deleted), with an audit row holding its last values. */
  async purge(id: Row[keyof Row] | string | number, options?: NoWriteOptions): Promise<Row> {
    const operation = this.#operation('purge')
    this.#options(options, 'purge')
    await this.#ready()
    const key = checkId(this.#model, id, operation)
    const rows = await this.#write('purge', String(key), ['beforeDelete', 'afterDelete'], async (db, inner, events) => {
      const target = this.#target('all', [this.#pkEquals(key)])
      await this.#hooks.beforeDelete?.([key], { ...this.#hookArgs(inner), kind: 'purge', before: await this.#lockedRows(db, target) })
      const statement = deleteStatement(inner, this.#model, target, this.#auditAction('purge'), this.#writeOptions())
      const removed = await this.#runWrite(db, statement, events)
      if (removed.length === 0) throw this.#notFound('purge', true)
      await this.#hooks.afterDelete?.(removed as never, { ...this.#hookArgs(inner), kind: 'purge', before: removedRowsBefore(removed) })
      return removed
    })
    return rows[0] as Row
  }

  // ---- internals -----------------------------------------------------------------------------

  get #hooks(): TableHooksOf<unknown, any, any, any> {
    return this.#model.definition.hooks ?? {}
  }

  /** `<table>.<op>`: the operation named in errors, and the audit action. */
  #operation(op: RepositoryOperation): string {
    return operationName(this.#model, op)
  }

  /** Unknown option keys are `VALIDATION` naming the key and the method, before any SQL. */
  #options(options: unknown, op: RepositoryOperation, allowed: readonly string[] = []): void {
    checkOptionKeys(options, allowed, this.#operation(op), { table: this.#model.name })
  }

  #ready(): Promise<void> {
    return this.#state.runtime.ready()
  }

  #visibility(view: DeletedView): RowVisibility {
    return { tenantId: requestTenantId(this.#state), view }
  }

  #target(view: DeletedView, filters: RawBuilder<SqlBool>[]): ReadTarget {
    return { visibility: this.#visibility(view), filters }
  }

  #pkEquals(id: string | number): RawBuilder<SqlBool> {
    return primaryKeyEquals(this.#model, id)
  }

  #idFor(op: WriteOperation, id: unknown): string | number {
    return checkId(this.#model, id, this.#operation(op))
  }

  /** `withBeforeFor`: the after hook that receives `args.before`; the statement returns old rows only when it is declared. */
  #writeOptions(withBeforeFor?: 'afterUpdate' | 'afterDelete'): { audited: boolean; wantEvents: boolean; split: boolean; before?: boolean } {
    const options = {
      audited: this.#model.auditEnabled,
      wantEvents: this.#model.auditEnabled && this.#state.runtime.audit.sink !== undefined,
      split: this.#model.auditEnabled && splitsAudit(this.#state, this.#model),
    }
    return withBeforeFor && this.#hooks[withBeforeFor] ? { ...options, before: true } : options
  }

  /** Strips the old rows an update statement returned for `hook` (see `#writeOptions`), aligned with `rows`. */
  #takeBefore(hook: 'afterUpdate' | 'afterDelete', rows: Record<string, unknown>[]): Record<string, unknown>[] {
    return this.#hooks[hook] ? takeBeforeRows(this.#model, rows) : []
  }

  /**
   * `args.before` of a before hook: the target rows, locked on the write's transaction. Always read
   * inside the hook's optional call (`hook?.(..., { before: await ... })`), whose arguments are
   * evaluated only when the hook exists: a table without it pays no read.
   */
  #lockedRows(db: Kysely<any>, target: TargetRows): Promise<Record<string, unknown>[]> {
    return lockTargetRows(db, targetCte(this.#model, target))
  }

  #hookArgs(inner: RequestState): HookArgsOf<unknown> {
    return { context: inner.context, tx: this.#state.runtime.tenantScopeFor(inner), table: this.#model.name }
  }

  #notFound(op: RepositoryOperation, refused = false): TenantryError {
    const error = new TenantryError('NOT_FOUND', `${this.#operation(op)}: no such row`, { table: this.#model.name, operation: this.#operation(op) })
    return refused ? denied(error) : error
  }

  async #read<T>(operation: string, run: (db: Kysely<any>) => Promise<{ rows: T[] }>): Promise<T[]> {
    if (this.#model.definition.permissions) await authorizeTableAccess(this.#state, this.#model, 'read', { action: operation })
    const result = await retrySingle(this.#state, async () => {
      try {
        return await inUnitOfWork(this.#state, false, (db) => run(db), { readOnly: true })
      } catch (error) {
        throw mapDatabaseError(error, operation)
      }
    })
    return result.rows
  }

  async #findMany(opts: Record<string, unknown>, op: 'findOne' | 'findMany'): Promise<Row[]> {
    const operation = this.#operation(op)
    const lock = this.#rowLock(opts, operation)
    await this.#ready()
    const limit = resolveLimit(opts.limit, operation)
    const offset = opts.offset === undefined ? 0 : Number(opts.offset)
    if (!Number.isInteger(offset) || offset < 0) throw new TenantryError('VALIDATION', `${operation}: offset must be a non-negative integer`, { operation })
    const orderBy = parseOrderBy(this.#model, opts.orderBy, operation)
    const keys = orderBy.length > 0 ? orderBy : withTiebreaker(this.#model, [])
    const target = this.#target(this.#view, compileWhere(this.#model, 't', opts.where, operation))
    // A cut the caller did not choose (the default, or a limit above the cap) fetches one row more to see it.
    // A locking read never fetches that extra row: it would lock a row the caller never sees.
    const unchosen = lock === undefined && (opts.limit === undefined || opts.limit === null || (opts.limit as number) > MAX_LIMIT)
    const fetch = unchosen ? limit + 1 : limit
    const rows = await this.#read(operation, (db) =>
      opts.where === undefined
        ? listStatement(db, this.#model, target.visibility, { orderBy: keys, limit: fetch, offset, lock })
        : selectStatement(this.#model, target, { orderBy: keys, limit: fetch, offset, lock }).execute(db),
    )
    if (rows.length > limit) {
      noticeTruncation(this.#state.runtime, this.#model.name, operation, limit)
      rows.length = limit
    }
    return rows as Row[]
  }

  /** `lock` is `'update'` or `'share'`, and only inside a transaction (outside one it would end with the statement). */
  #rowLock(opts: Record<string, unknown>, operation: string): RowLock | undefined {
    const lock = opts.lock
    if (lock === undefined) return undefined
    if (lock !== 'update' && lock !== 'share') {
      throw new TenantryError('VALIDATION', `${operation}: option "lock" must be 'update' or 'share'`, { table: this.#model.name, operation })
    }
    if (!this.#state.trx) {
      throw new TenantryError('VALIDATION', `${operation}: option "lock" needs a transaction; call it inside scope.transaction(...)`, {
        table: this.#model.name,
        operation,
      })
    }
    return lock
  }

  async #existsInView(db: Kysely<any>, id: string | number): Promise<boolean> {
    const { rows } = await existsStatement(this.#model, this.#target(this.#view, [this.#pkEquals(id)])).execute(db)
    return rows[0]?.exists === true
  }

  /** Runs a write statement and collects the audit events it returned for the sink. */
  async #runWrite(db: Kysely<any>, statement: RawBuilder<Record<string, unknown>>, events: AuditEvent[]): Promise<Record<string, unknown>[]> {
    return runWriteStatement(db, statement, events)
  }

  /**
   * Runs a write as one unit of work (a transaction only when hooks need one) and, when it fails,
   * leaves a `failure` or `denied` audit row that survives the rollback.
   */
  async #write<T>(
    op: WriteOperation,
    resourceId: string | null,
    hookNames: (keyof TableHooksOf<unknown>)[],
    work: (db: Kysely<any>, inner: RequestState, events: AuditEvent[]) => Promise<T>,
    severalStatements = false,
  ): Promise<T> {
    // On Citus the change and its audit insert are two statements (split-audit-statement.ts): one transaction.
    const needsTransaction =
      severalStatements || this.#writeOptions().split || hookNames.some((name) => this.#hooks[name] !== undefined) || cascadesFrom(this.#state, this.#model, op)
    // Each failed attempt leaves its own failure row; OUTCOME_UNKNOWN is never retried.
    const failure = () => (this.#model.auditEnabled ? { action: this.#auditAction(op), resourceType: this.#model.name, resourceId } : null)
    const explain = (error: unknown) => this.#explain(error, op)
    if (this.#model.definition.permissions) await authorizeTableAccess(this.#state, this.#model, 'write', { action: this.#auditAction(op), resourceId })
    return retrySingle(this.#state, () => auditedWrite(this.#state, { operation: this.#operation(op), needsTransaction, failure, explain }, work))
  }

  /** `<table>.<action>`: the audit action of a write (see `AUDIT_ACTION`). */
  #auditAction(op: WriteOperation): string {
    return auditActionName(this.#model, op)
  }

  #explain(mapped: unknown, op: WriteOperation): unknown {
    const error = explainCitusLimit(this.#state, explainReferenceError(mapped, this.#state, this.#operation(op)), this.#operation(op))
    if (op === 'restore' && error instanceof TenantryError && error.code === 'UNIQUE_VIOLATION') {
      return new TenantryError(
        'UNIQUE_VIOLATION',
        `${this.#operation('restore')}: a live row already holds the same unique key (constraint "${error.constraint ?? 'unnamed'}")`,
        { table: this.#model.name, ...(error.constraint ? { constraint: error.constraint } : {}), operation: this.#operation('restore') },
        { cause: error.cause },
      )
    }
    return error
  }

  async #insert(inputs: Insert[], op: 'create' | 'createMany'): Promise<Row[]> {
    const operation = this.#operation(op)
    await this.#ready()
    const prepared: Record<string, unknown>[] = []
    // Synchronous per row; only a refused row (another tenant named) waits for its audit record.
    for (const input of inputs) {
      const values = prepareInsert(this.#state, this.#model, input, op)
      prepared.push(values instanceof Promise ? await values : values)
    }
    // More rows than one statement takes go in several statements: one transaction keeps them all-or-nothing.
    const severalStatements = prepared.length > rowsPerInsert(distinctColumnCount(prepared))
    return (await this.#write(
      op,
      null,
      ['beforeCreate', 'afterCreate'],
      async (db, inner, events) => {
        let rows = prepared
        if (this.#hooks.beforeCreate) {
          rows = []
          for (const values of prepared) {
            const replaced = await this.#hooks.beforeCreate({ ...values }, this.#hookArgs(inner))
            rows.push(replaced ? withTenant(this.#state, this.#model, checkedInsert(this.#model, replaced as Record<string, unknown>, operation)) : values)
          }
        }
        const created: Record<string, unknown>[] = []
        for (const chunk of insertChunks(rows)) {
          const options = { ...this.#writeOptions(), ...withCheck(referenceCheck(inner, this.#model)) }
          for (const row of await executeInsert(db, inner, this.#model, chunk, this.#auditAction(op), options, events)) created.push(row)
        }
        if (this.#hooks.afterCreate) for (const row of created) await this.#hooks.afterCreate(row, this.#hookArgs(inner))
        return created
      },
      severalStatements,
    )) as Row[]
  }

  async #beforeUpdate(
    values: Record<string, unknown>,
    inner: RequestState,
    ids: unknown[] | null,
    operation: string,
    db: Kysely<any>,
    target: TargetRows,
  ): Promise<Record<string, unknown>> {
    const replaced = await this.#hooks.beforeUpdate?.({ ...values }, { ...this.#hookArgs(inner), ids, before: await this.#lockedRows(db, target) })
    if (!replaced) return values
    if (!isPlainObject(replaced)) throw new TenantryError('VALIDATION', `${operation}: beforeUpdate must return an object`, { operation })
    const patch = tenantSafeReplacement(this.#model, requestTenantId(this.#state), replaced, operation)
    checkWritableColumns(this.#model, patch, operation, 'update')
    return patch
  }

  async #changeDeletedState(
    op: 'softDelete' | 'softDeleteMany' | 'restore',
    rows: { key: string | number } | { filters: RawBuilder<SqlBool>[] },
    to: 'deleted' | 'live',
  ): Promise<Record<string, unknown>[]> {
    const operation = this.#operation(op)
    const key = 'key' in rows ? rows.key : null
    const resourceId = key === null ? null : String(key)
    const filters = 'filters' in rows ? rows.filters : [this.#pkEquals(rows.key)]
    await this.#ready()
    if (this.#model.softDelete.kind === 'none') {
      throw new TenantryError('VALIDATION', `${operation}: table "${this.#model.name}" has no soft-delete strategy (use purge)`, {
        table: this.#model.name,
        operation,
      })
    }
    const fromView: DeletedView = to === 'deleted' ? 'live' : 'deleted'
    const assignments = stampUpdatedAt(this.#model, softDeleteAssignments(this.#model, to))
    const hookNames: (keyof TableHooksOf<unknown>)[] = to === 'deleted' ? ['beforeDelete', 'afterDelete'] : []
    const cascades = hasCascade(this.#state, this.#model)
    return this.#write(op, resourceId, hookNames, async (db, inner, events) => {
      const target = this.#target(fromView, filters)
      const deleting = to === 'deleted'
      if (deleting)
        await this.#hooks.beforeDelete?.(resourceId === null ? null : [resourceId], {
          ...this.#hookArgs(inner),
          kind: 'soft',
          before: await this.#lockedRows(db, target),
        })
      const deletedAt = cascades && !deleting ? await deletedAtOf(db, this.#model, target) : null
      const options = { ...this.#writeOptions(deleting ? 'afterDelete' : undefined), ...withCheck(deletedStateCheck(inner, this.#model, to)) }
      const action = this.#auditAction(op)
      const rows =
        key === null
          ? await this.#runWrite(db, updateStatement(inner, this.#model, target, assignments, action, options), events)
          : await executeUpdate(db, inner, this.#model, target.visibility, key, fixedSet(`deleted-state:${to}`, assignments), action, options, events)
      const before = deleting ? this.#takeBefore('afterDelete', rows) : []
      if (resourceId !== null && rows.length === 0) throw this.#notFound(op, true)
      const step = { db, state: inner, events, wantEvents: this.#state.runtime.audit.sink !== undefined }
      if (cascades) await cascadeDeletedState(step, this.#model, rows, to, deletedAt)
      if (deleting && rows.length > 0) await this.#hooks.afterDelete?.(rows as never, { ...this.#hookArgs(inner), kind: 'soft', before })
      return rows
    }) as Promise<Record<string, unknown>[]>
  }
}
