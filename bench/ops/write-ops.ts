import { sql } from 'kysely'
import { ProjectInsert, ProjectUpdate } from '../bench-tables.js'
import { auditSelection, AUDIT_COLUMNS, rawAuditInsert, updateAuditCte } from './hand-written-audit.js'
import { consume, cycle, REQUEST, type OpContext, type OpDefinition } from './op-context.js'

/**
 * Audited writes. The hand-written versions do what tenantry does, the way a careful user would:
 * validate the input with the same zod schema, add the tenant and soft-delete filters, lock the
 * target rows, and insert one audit row per changed row (old and new values, changed fields,
 * request data) in the same statement as the change.
 */

const scopeOf = (ctx: OpContext) => ctx.tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId, ...REQUEST })

const RAW_PARAMS = { actor: 1, ip: 2, ua: 3, req: 4 }
const rawRequest = (ctx: OpContext) => [ctx.actors.actorId, REQUEST.ip, REQUEST.userAgent, REQUEST.requestId]

const create: OpDefinition = {
  op: 'create',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const input = () => ({ name: 'created by bench', budget: 10 })
    return {
      tenantry: () => repo.create(input()),
      kysely: async () => {
        const values = ProjectInsert.parse(input())
        return ctx.kysely
          .with('created', (qb) =>
            qb
              .insertInto('projects')
              .values({ ...values, tenant_id: ctx.tenantId })
              .returningAll(),
          )
          .with('audit', (qb) =>
            qb
              .insertInto('tenantry.audit_logs')
              .columns([...AUDIT_COLUMNS])
              .expression(
                qb
                  .selectFrom('created')
                  .select(
                    auditSelection('projects.create', ctx.actors.actorId, { after: 'created', before: null, changed: sql`${Object.keys(values)}::text[]` }),
                  ),
              ),
          )
          .selectFrom('created')
          .selectAll()
          .executeTakeFirstOrThrow()
      },
      raw: async () => {
        const values = ProjectInsert.parse(input())
        const { rows } = await ctx.pool.query(
          `with created as (insert into projects (name, budget, tenant_id) values ($5, $6, $7) returning *),
                audit as (${rawAuditInsert('projects.create', 'created a', RAW_PARAMS, { before: null, changed: '$8::text[]' })})
           select * from created`,
          [...rawRequest(ctx), values.name, values.budget, ctx.tenantId, Object.keys(values)],
        )
        return rows[0]
      },
    }
  },
}

/** `update ... from target` with a locked target CTE: the shape tenantry and the hand-written code share. */
function kyselyUpdate(ctx: OpContext, action: string, where: (qb: any) => any, set: Record<string, unknown>, patched: string[]) {
  return ctx.kysely
    .with('target', (qb) =>
      where(qb.selectFrom('projects').selectAll().where('tenant_id', '=', ctx.tenantId).where('deleted_at', 'is', null))
        .orderBy('id')
        .forUpdate(),
    )
    .with('changed', (qb) =>
      qb
        .updateTable('projects as u')
        .set({ ...set, updated_at: sql`now()` })
        .from('target')
        .whereRef('u.id', '=', 'target.id')
        .returningAll('u'),
    )
    .with('audit', updateAuditCte(action, ctx.actors.actorId, patched))
    .selectFrom('changed')
    .selectAll()
    .execute()
}

function rawUpdate(action: string, filter: string, set: string): string {
  return `with target as (select * from projects where tenant_id = $5 and deleted_at is null and ${filter} order by id for update),
               changed as (update projects u set ${set}, updated_at = now() from target where u.id = target.id returning u.*),
               audit as (${rawAuditInsert(action, 'changed a join target t on t.id = a.id', RAW_PARAMS, {
                 before: 't',
                 changed: `array(select k from unnest($6::text[]) as k where to_jsonb(a) -> k is distinct from to_jsonb(t) -> k)`,
               })})
          select * from changed`
}

const update: OpDefinition = {
  op: 'update',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const [a, b, c] = [cycle(ctx.ids), cycle(ctx.ids), cycle(ctx.ids)]
    let n = 0
    const patch = () => ({ name: `renamed ${n++}` })
    return {
      tenantry: () => repo.update(a(), patch()),
      kysely: async () => {
        const values = ProjectUpdate.parse(patch())
        const id = b()
        const rows = await kyselyUpdate(ctx, 'projects.update', (qb) => qb.where('id', '=', id), values, Object.keys(values))
        if (rows.length === 0) throw new Error('not found')
        return rows[0]
      },
      raw: async () => {
        const values = ProjectUpdate.parse(patch())
        const { rows } = await ctx.pool.query(rawUpdate('projects.update', 'id = $7', 'name = $8'), [
          ...rawRequest(ctx),
          ctx.tenantId,
          Object.keys(values),
          c(),
          values.name,
        ])
        if (rows.length === 0) throw new Error('not found')
        return rows[0]
      },
    }
  },
}

const softDelete: OpDefinition = {
  op: 'softDelete',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const next = {
      tenantry: consume(ctx.victims.tenantry, 'rows to soft-delete'),
      kysely: consume(ctx.victims.kysely, 'rows to soft-delete'),
      raw: consume(ctx.victims.raw, 'rows to soft-delete'),
    }
    return {
      tenantry: () => repo.softDelete(next.tenantry()),
      kysely: async () => {
        const id = next.kysely()
        const rows = await kyselyUpdate(ctx, 'projects.softDelete', (qb) => qb.where('id', '=', id), { deleted_at: sql`now()` }, ['deleted_at'])
        if (rows.length === 0) throw new Error('not found')
        return rows[0]
      },
      raw: async () => {
        const { rows } = await ctx.pool.query(rawUpdate('projects.softDelete', 'id = $7', 'deleted_at = now()'), [
          ...rawRequest(ctx),
          ctx.tenantId,
          ['deleted_at'],
          next.raw(),
        ])
        if (rows.length === 0) throw new Error('not found')
        return rows[0]
      },
    }
  },
}

/** `updateMany` of one batch (`where batch = k`: 100 rows at the default size), one audit row each. */
const updateMany: OpDefinition = {
  op: 'updateMany(100)',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const batches = Array.from({ length: 10 }, (_, k) => k)
    const [a, b, c] = [cycle(batches), cycle(batches), cycle(batches)]
    let n = 0
    const patch = () => ({ status: n++ % 2 === 0 ? 'paused' : 'active' }) as const
    return {
      tenantry: () => repo.updateMany({ batch: a() }, patch()),
      kysely: async () => {
        const values = ProjectUpdate.parse(patch())
        const batch = b()
        const rows = await kyselyUpdate(ctx, 'projects.update', (qb) => qb.where('batch', '=', batch), values, Object.keys(values))
        return { count: rows.length }
      },
      raw: async () => {
        const values = ProjectUpdate.parse(patch())
        const { rows } = await ctx.pool.query(rawUpdate('projects.update', 'batch = $7', 'status = $8'), [
          ...rawRequest(ctx),
          ctx.tenantId,
          Object.keys(values),
          c(),
          values.status,
        ])
        return { count: rows.length }
      },
    }
  },
}

export const writeOps: OpDefinition[] = [create, update, softDelete, updateMany]
