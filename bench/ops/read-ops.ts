import type { OpContext, OpDefinition } from './op-context.js'
import { cycle } from './op-context.js'

/**
 * Reads: tenantry's repository, the same query in plain Kysely with the tenant and soft-delete
 * filters written by hand, and the same SQL through `pg`.
 */

const scopeOf = (ctx: OpContext) => ctx.tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId })

const findById: OpDefinition = {
  op: 'findById',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const [a, b, c] = [cycle(ctx.ids), cycle(ctx.ids), cycle(ctx.ids)]
    return {
      tenantry: () => repo.findById(a()),
      kysely: () =>
        ctx.kysely
          .selectFrom('projects')
          .selectAll()
          .where('tenant_id', '=', ctx.tenantId)
          .where('deleted_at', 'is', null)
          .where('id', '=', b())
          .limit(1)
          .executeTakeFirst(),
      raw: () => ctx.pool.query('select * from projects where tenant_id = $1 and deleted_at is null and id = $2 limit 1', [ctx.tenantId, c()]),
    }
  },
}

const findMany: OpDefinition = {
  op: 'findMany(50)',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    return {
      tenantry: () => repo.findMany({ orderBy: ['created_at', 'desc'], limit: 50 }),
      kysely: () =>
        ctx.kysely
          .selectFrom('projects')
          .selectAll()
          .where('tenant_id', '=', ctx.tenantId)
          .where('deleted_at', 'is', null)
          .orderBy('created_at', 'desc')
          .limit(50)
          .execute(),
      raw: () => ctx.pool.query('select * from projects where tenant_id = $1 and deleted_at is null order by created_at desc limit 50', [ctx.tenantId]),
    }
  },
}

/** The cursor a careful user hands out: the last row's sort values, in PostgreSQL's text form. */
function encodeCursor(row: { cursor_at: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.cursor_at, row.id])).toString('base64url')
}

function decodeCursor(cursor: string): [string, string] {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string]
}

/** The second page (50 rows after a cursor), newest first: the common "load more" request. */
const page: OpDefinition = {
  op: 'page',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    const orderBy = [
      ['created_at', 'desc'],
      ['id', 'desc'],
    ] as const
    const first = await repo.page({ orderBy, limit: 50 })
    if (!first.nextCursor) throw new Error('bench: the bench tenant needs more than one page of rows')
    const last = first.items.at(-1)!
    const handCursor = encodeCursor({ cursor_at: (await ctx.pool.query('select $1::timestamptz::text as t', [last.created_at])).rows[0].t, id: last.id })
    const tenantryCursor = first.nextCursor
    const pageOf = <T extends { cursor_at: string; id: string }>(rows: T[]) => {
      const items = rows.slice(0, 50)
      return { items, nextCursor: rows.length > 50 ? encodeCursor(items.at(-1)!) : null }
    }
    return {
      tenantry: () => repo.page({ orderBy, limit: 50, after: tenantryCursor }),
      kysely: async () => {
        const [at, id] = decodeCursor(handCursor)
        const rows = await ctx.kysely
          .selectFrom('projects')
          .selectAll()
          .select((eb) => eb.cast<string>('created_at', 'text').as('cursor_at'))
          .where('tenant_id', '=', ctx.tenantId)
          .where('deleted_at', 'is', null)
          .where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'id'), '<', tuple(at, id)))
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(51)
          .execute()
        return pageOf(rows as { cursor_at: string; id: string }[])
      },
      raw: async () => {
        const [at, id] = decodeCursor(handCursor)
        const { rows } = await ctx.pool.query(
          `select *, created_at::text as cursor_at from projects
            where tenant_id = $1 and deleted_at is null and (created_at, id) < ($2, $3)
            order by created_at desc, id desc limit 51`,
          [ctx.tenantId, at, id],
        )
        return pageOf(rows)
      },
    }
  },
}

const count: OpDefinition = {
  op: 'count',
  async build(ctx) {
    const repo = scopeOf(ctx).repo('projects')
    return {
      tenantry: () => repo.count(),
      kysely: async () =>
        Number(
          (
            await ctx.kysely
              .selectFrom('projects')
              .select((eb) => eb.fn.countAll().as('count'))
              .where('tenant_id', '=', ctx.tenantId)
              .where('deleted_at', 'is', null)
              .executeTakeFirstOrThrow()
          ).count,
        ),
      raw: async () =>
        Number((await ctx.pool.query('select count(*) as count from projects where tenant_id = $1 and deleted_at is null', [ctx.tenantId])).rows[0].count),
    }
  },
}

export const readOps: OpDefinition[] = [findById, findMany, page, count]
