import { sql } from 'kysely'
import { DeploymentInsert, DeploymentUpdate } from '../bench-tables.js'
import { AUDIT_COLUMNS, auditSelection, updateAuditCte } from './hand-written-audit.js'
import { cycle, REQUEST, type OpContext, type OpDefinition } from './op-context.js'

/**
 * Writes to a table that declares a reference (`deployments.project_id` → `projects`). tenantry
 * checks in the write's own statement that the project is a live row of the same tenant; the
 * hand-written version does what a careful user does: the parent read as a CTE of the same
 * statement (same tenant, not deleted), the write only from it, and an error when nothing was written.
 */

const scopeOf = (ctx: OpContext) => ctx.tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId, ...REQUEST })

function liveParent(ctx: OpContext, projectId: string) {
  return (qb: any) => qb.selectFrom('projects').select('id').where('id', '=', projectId).where('tenant_id', '=', ctx.tenantId).where('deleted_at', 'is', null)
}

const createWithReference: OpDefinition = {
  op: 'create (reference)',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('deployments')
    const [a, b] = [cycle(ctx.ids), cycle(ctx.ids)]
    let n = 0
    return {
      tenantry: () => repo.create({ project_id: a(), version: `1.0.${n++}` }),
      kysely: async () => {
        const values = DeploymentInsert.parse({ project_id: b(), version: `1.0.${n++}` })
        const row = await ctx.kysely
          .with('parent', liveParent(ctx, values.project_id))
          .with('created', (qb) =>
            qb
              .insertInto('deployments')
              .columns(['tenant_id', 'project_id', 'version'])
              .expression(qb.selectFrom('parent').select([sql`${ctx.tenantId}::uuid`.as('tenant_id'), 'parent.id', sql`${values.version}`.as('version')]))
              .returningAll(),
          )
          .with('audit', (qb) =>
            qb
              .insertInto('tenantry.audit_logs')
              .columns([...AUDIT_COLUMNS])
              .expression(
                qb.selectFrom('created').select(
                  auditSelection('deployments.create', ctx.actors.actorId, {
                    after: 'created',
                    before: null,
                    changed: sql`${Object.keys(values)}::text[]`,
                    resourceType: 'deployments',
                  }),
                ),
              ),
          )
          .selectFrom('created')
          .selectAll()
          .executeTakeFirst()
        if (!row) throw new Error('no such project')
        return row
      },
    }
  },
}

const updateWithReference: OpDefinition = {
  op: 'update (reference)',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('deployments')
    const seeded = await repo.createMany(ctx.ids.slice(0, 50).map((project_id, i) => ({ project_id, version: `0.${i}` })))
    const deployments = seeded.map((d) => d.id)
    const [a, b] = [cycle(deployments), cycle(deployments)]
    const [p, q] = [cycle([...ctx.ids].reverse()), cycle([...ctx.ids].reverse())]
    return {
      tenantry: () => repo.update(a(), { project_id: p() }),
      kysely: async () => {
        const values = DeploymentUpdate.parse({ project_id: q() })
        const id = b()
        const rows = await ctx.kysely
          .with('target', (qb) =>
            qb
              .selectFrom('deployments')
              .selectAll()
              .where('tenant_id', '=', ctx.tenantId)
              .where('deleted_at', 'is', null)
              .where('id', '=', id)
              .orderBy('id')
              .forUpdate(),
          )
          .with('parent', liveParent(ctx, values.project_id!))
          .with('changed', (qb) =>
            qb
              .updateTable('deployments as u')
              .set({ project_id: sql`parent.id`, updated_at: sql`now()` })
              .from(['target', 'parent'])
              .whereRef('u.id', '=', 'target.id')
              .returningAll('u'),
          )
          .with('audit', updateAuditCte('deployments.update', ctx.actors.actorId, ['project_id'], 'deployments'))
          .selectFrom('changed')
          .selectAll()
          .execute()
        if (rows.length === 0) throw new Error('not found, or no such project')
        return rows[0]
      },
    }
  },
}

export const referenceOps: OpDefinition[] = [createWithReference, updateWithReference]
