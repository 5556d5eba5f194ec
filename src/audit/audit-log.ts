import { sql } from 'kysely'
import { z } from 'zod'
import { mapDatabaseError, withTypedErrors } from '../errors/map-database-error.js'
import { TenantryError } from '../errors/tenantry-error.js'
import { checkOptionKeys, parseInput } from '../validation/strict-options.js'
import { checkJsonValue } from '../validation/text-value.js'
import { requestTenantId, type RequestState } from '../runtime/runtime.js'
import { transactionOnNewConnection } from '../execution/context-transaction.js'
import { inUnitOfWork } from '../execution/unit-of-work.js'
import { Repository } from '../repository/repository.js'
import { rowVisibilityCondition } from '../predicates/row-visibility.js'
import type { TableModel } from '../schema/table-model.js'
import { durationToMs, type Duration } from '../util/duration.js'
import type { AuditEvent, AuditOutcome } from '../runtime/audit-event.js'
import { auditEventInsert, auditRowToEvent } from '../execution/audit-statement.js'
import { pruneDistributedBatch } from './distributed-retention.js'
import { storableOutcome, tenantlessAuditError } from '../execution/tenantless-audit.js'

export interface AuditListOptions {
  resourceType?: string
  resourceId?: string
  actorId?: string
  action?: string
  outcome?: AuditOutcome
  /** Inclusive lower bound of `created_at`. */
  from?: Date
  /** Exclusive upper bound of `created_at`. */
  to?: Date
  limit?: number
  after?: string | null
}

export interface AuditRecordInput {
  action: string
  resourceType?: string | null
  resourceId?: string | null
  outcome?: AuditOutcome
  metadata?: Record<string, unknown>
}

const listSchema = z.strictObject({
  resourceType: z.string().max(200).optional(),
  resourceId: z.string().max(200).optional(),
  actorId: z.uuid().optional(),
  action: z.string().max(200).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
  limit: z.number().int().positive().optional(),
  after: z.string().nullish(),
})

const recordSchema = z.strictObject({
  action: z.string().min(1).max(200),
  resourceType: z.string().max(200).nullish(),
  resourceId: z.string().max(200).nullish(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
})

/**
 * The scope's audit trail: newest first, in keyset pages; custom events; batched retention.
 * A tenant scope sees and prunes its own tenant's rows only.
 *
 * @example
 * const { items, nextCursor } = await scope.auditLog.list({ resourceType: 'projects', resourceId: id })
 * await scope.auditLog.record({ action: 'auth.login', metadata: { method: 'password' } })
 */
export class AuditLog {
  readonly #state: RequestState

  constructor(state: RequestState) {
    this.#state = state
  }

  async list(options: AuditListOptions = {}): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const o = parseInput(listSchema, options, 'auditLog.list', 'invalid options')
    const createdAt = { ...(o.from ? { gte: o.from } : {}), ...(o.to ? { lt: o.to } : {}) }
    // Options left out are no condition; `where` itself refuses undefined values.
    const where = Object.fromEntries(
      Object.entries({
        resource_type: o.resourceType,
        resource_id: o.resourceId,
        actor_user_id: o.actorId,
        action: o.action,
        outcome: o.outcome,
        ...(o.from || o.to ? { created_at: createdAt } : {}),
      }).filter(([, value]) => value !== undefined),
    )
    const repo = new Repository(this.#state, this.#model())
    const page = await repo.page({
      where,
      orderBy: [
        ['created_at', 'desc'],
        ['id', 'desc'],
      ],
      ...(o.limit ? { limit: o.limit } : {}),
      ...(o.after ? { after: o.after } : {}),
    })
    return { items: page.items.map((row) => auditRowToEvent(row)), nextCursor: page.nextCursor }
  }

  /** Records a custom event (login, logout, export) with the scope's actor, ip, user agent and request id. */
  async record(input: AuditRecordInput): Promise<AuditEvent> {
    const e = parseInput(recordSchema, input, 'auditLog.record', 'invalid event')
    if (e.metadata) checkJsonValue(e.metadata, 'auditLog.record', { column: 'metadata', table: 'audit_logs' })
    const record = {
      action: e.action,
      resourceType: e.resourceType ?? null,
      resourceId: e.resourceId ?? null,
      outcome: e.outcome ?? 'success',
      errorCode: null,
      ...(e.metadata ? { metadata: e.metadata } : {}),
    }
    try {
      // whether audit_logs can hold an event without a tenant (Citus) is read with the schema
      await this.#state.runtime.ready()
      if (!storableOutcome(this.#state, record)) throw tenantlessAuditError('auditLog.record')
      return await inUnitOfWork(this.#state, false, async (db, _inner, events) => {
        const { rows } = await auditEventInsert(this.#state, record).execute(db)
        const event = auditRowToEvent(rows[0]!)
        events.push(event)
        return event
      })
    } catch (error) {
      throw mapDatabaseError(error, 'auditLog.record')
    }
  }

  /**
   * Deletes rows older than `olderThan` in batches (one short transaction each, `SKIP LOCKED`), so
   * retention never holds long locks. Returns how many rows it deleted. On Citus (a distributed
   * `audit_logs`) each batch is a plain delete of the oldest rows (`distributed-retention.ts`).
   */
  prune(options: { olderThan: Date | Duration; batchSize?: number }): Promise<number> {
    return withTypedErrors('auditLog.prune', this.#prune(options))
  }

  async #prune(options: { olderThan: Date | Duration; batchSize?: number }): Promise<number> {
    checkOptionKeys(options, ['olderThan', 'batchSize'], 'auditLog.prune')
    if (options === undefined) throw new TenantryError('VALIDATION', 'auditLog.prune: olderThan is required')
    const olderThan = options.olderThan instanceof Date ? options.olderThan : new Date(Date.now() - durationToMs(options.olderThan, 'auditLog.prune'))
    const batchSize = options.batchSize ?? 1000
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw new TenantryError('VALIDATION', 'auditLog.prune: batchSize must be an integer from 1 to 100000')
    }
    // whether audit_logs is distributed is read with the schema (citus-placement.ts)
    await this.#state.runtime.ready()
    const table = sql.id(this.#state.runtime.schema, 'audit_logs')
    const inScope = rowVisibilityCondition(this.#model(), 'a', { tenantId: requestTenantId(this.#state), view: 'all' })
    let total = 0
    for (;;) {
      // Under RLS the batch runs with the scope's context, so the policy limits it to the tenant too.
      const deleted = await transactionOnNewConnection(this.#state, async (trx) => {
        if (this.#state.runtime.distributedAudit) return pruneDistributedBatch(trx, table, inScope, olderThan, batchSize)
        await sql`select set_config('tenantry.audit_retention', 'on', true)`.execute(trx)
        const result = await sql`delete from ${table} where id in (
            select a.id from ${table} a where a.created_at < ${olderThan} and ${inScope}
             order by a.created_at limit ${batchSize} for update skip locked)`.execute(trx)
        return Number(result.numAffectedRows ?? 0)
      })
      total += deleted
      if (deleted < batchSize) return total
    }
  }

  #model(): TableModel {
    const model = this.#state.runtime.builtins.get('audit_logs')
    if (!model) throw new TenantryError('CONFIGURATION', 'audit_logs is not configured')
    return model
  }
}
