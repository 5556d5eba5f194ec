import type { OpContext, OpDefinition } from './op-context.js'

/**
 * `scope.can(permission)` on a fresh scope per call (one request, one check): the first check of a
 * scope reads the grants, later checks in the same scope are answered from memory and cost nothing.
 */

const PERMISSION = 'projects:write'

/** `resource:action` with `*` wildcards on either side, as a careful user would match them. */
function covers(granted: readonly string[], wanted: string): boolean {
  const [resource, action] = wanted.split(':')
  return granted.some((g) => {
    const [r, a] = g.split(':')
    return (r === '*' || r === resource) && (a === '*' || a === action)
  })
}

const GRANTS_SQL = `
  select r.permissions
    from tenantry.memberships m
    join tenantry.tenants t on t.id = m.tenant_id and t.deleted_at is null
    join tenantry.users u on u.id = m.user_id and u.deleted_at is null and u.status not in ('suspended', 'disabled')
    join tenantry.user_roles ur on ur.tenant_id = m.tenant_id and ur.user_id = m.user_id
    join tenantry.roles r on r.id = ur.role_id and r.deleted_at is null and (r.tenant_id = m.tenant_id or r.tenant_id is null)
   where m.tenant_id = $1 and m.user_id = $2 and m.status = 'active' and m.deleted_at is null`

const permissionCheck: OpDefinition = {
  op: 'permission check',
  async build(ctx: OpContext) {
    const probe = ctx.tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId }) as unknown as {
      can?: (permission: string) => Promise<boolean>
    }
    if (typeof probe.can !== 'function') return { unavailable: 'scope.can is not part of the scope API yet' }
    const check = (granted: boolean) => {
      if (!granted) throw new Error('bench: the actor should hold projects:write')
      return granted
    }
    return {
      tenantry: async () => {
        const scope = ctx.tenantry.withContext({ tenantId: ctx.tenantId, actorId: ctx.actors.actorId }) as unknown as {
          can: (permission: string) => Promise<boolean>
        }
        return check(await scope.can(PERMISSION))
      },
      kysely: async () => {
        const rows = await ctx.kysely
          .selectFrom('tenantry.memberships as m')
          .innerJoin('tenantry.tenants as t', (j) => j.onRef('t.id', '=', 'm.tenant_id').on('t.deleted_at', 'is', null))
          .innerJoin('tenantry.users as u', (j) =>
            j.onRef('u.id', '=', 'm.user_id').on('u.deleted_at', 'is', null).on('u.status', 'not in', ['suspended', 'disabled']),
          )
          .innerJoin('tenantry.user_roles as ur', (j) => j.onRef('ur.tenant_id', '=', 'm.tenant_id').onRef('ur.user_id', '=', 'm.user_id'))
          .innerJoin('tenantry.roles as r', (j) =>
            j
              .onRef('r.id', '=', 'ur.role_id')
              .on('r.deleted_at', 'is', null)
              .on((eb) => eb.or([eb('r.tenant_id', '=', eb.ref('m.tenant_id')), eb('r.tenant_id', 'is', null)])),
          )
          .select('r.permissions')
          .where('m.tenant_id', '=', ctx.tenantId)
          .where('m.user_id', '=', ctx.actors.actorId)
          .where('m.status', '=', 'active')
          .where('m.deleted_at', 'is', null)
          .execute()
        return check(
          covers(
            rows.flatMap((r) => r.permissions as string[]),
            PERMISSION,
          ),
        )
      },
      raw: async () => {
        const { rows } = await ctx.pool.query(GRANTS_SQL, [ctx.tenantId, ctx.actors.actorId])
        return check(
          covers(
            rows.flatMap((r) => r.permissions as string[]),
            PERMISSION,
          ),
        )
      },
    }
  },
}

export const permissionOps: OpDefinition[] = [permissionCheck]
