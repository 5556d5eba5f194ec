import { randomBytes } from 'node:crypto'
import {
  BinaryOperationNode,
  CastNode,
  ColumnNode,
  CompiledQuery,
  DataTypeNode,
  DropTableNode,
  ExpressionWrapper,
  OperatorNode,
  ReferenceNode,
  TableNode,
  ValueNode,
  sql,
  type Kysely,
  type KyselyPlugin,
  type RootOperationNode,
} from 'kysely'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isTenantryError, type Tenantry, type TenantScope } from '../../src/index.js'
import { useFileDatabase, type FileDatabase } from '../support/test-database.js'
import { createHostTables, insertTenant, makeTenantry } from '../support/host-schema.js'
import { createAppRole } from './support/app-role.js'

/**
 * Bypass attempts through `scope.db`, run by tenant A against tenant B's rows, in both isolation
 * modes (query mode as the owner; rls mode as an ordinary role with row-level security forced).
 * Every attempt is either refused (`FORBIDDEN`) or runs scoped; after each, B's rows are checked
 * unchanged, and nothing any attempt returned carries a mark of B.
 */

/** Fixed ids, so tenant B's rows can be rebuilt after an attempt that changed them. */
const B_PROJECT = '0b000000-0000-4000-8000-000000000001'
const B_SESSION = '0b000000-0000-4000-8000-000000000002'
const B_TOKEN = '0b000000-0000-4000-8000-000000000003'
const B_MARK = 'B-secret'
const B_SECRET_HASH = Buffer.alloc(32, 7)

interface World {
  fileDb: FileDatabase
  /** The instance tenant code uses (the app role's pool under rls). */
  tenantry: Tenantry<any>
  tenantA: string
  tenantB: string
  userA: string
  userB: string
}

async function seed(fileDb: FileDatabase): Promise<Omit<World, 'tenantry' | 'fileDb'>> {
  const db = fileDb.db
  await createHostTables(db)
  await sql`create unique index notes_body_key on notes (body)`.execute(db)
  const tenantA = await insertTenant(db, 'attack-a')
  const tenantB = await insertTenant(db, 'attack-b')
  const [userA, userB] = (await Promise.all(
    ['a', 'b'].map(async (who) => {
      const row = await db
        .insertInto('tenantry.users')
        .values({ email: `${who}-${randomBytes(3).toString('hex')}@example.com`, password_hash: `${who === 'b' ? B_MARK : 'A'}-hash` })
        .returning('id')
        .executeTakeFirstOrThrow()
      return row.id as string
    }),
  )) as [string, string]
  await db
    .insertInto('tenantry.memberships')
    .values([
      { tenant_id: tenantA, user_id: userA },
      { tenant_id: tenantB, user_id: userB },
    ])
    .execute()
  await db
    .insertInto('tenantry.roles')
    .values({ tenant_id: null, name: 'system-viewer', permissions: ['projects:read'] })
    .execute()
  await db
    .insertInto('projects')
    .values([
      { tenant_id: tenantA, name: 'A live', slug: 'same' },
      { tenant_id: tenantA, name: 'A deleted', slug: 'a-gone', deleted_at: new Date() },
    ])
    .execute()
  await db.insertInto('notes').values({ tenant_id: tenantA, body: 'A note' }).execute()
  await resetB(db, tenantB, userB)
  return { tenantA, tenantB, userA, userB }
}

/** Tenant B's rows, (re)built: a project, a note, a role and its assignment, an invitation, a session. */
async function resetB(db: Kysely<any>, tenantB: string, userB: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('projects').where('tenant_id', '=', tenantB).execute()
    await trx.deleteFrom('notes').where('tenant_id', '=', tenantB).execute()
    await trx.deleteFrom('tenantry.user_roles').where('tenant_id', '=', tenantB).execute()
    await trx.deleteFrom('tenantry.roles').where('tenant_id', '=', tenantB).execute()
    await trx.deleteFrom('tenantry.invitations').where('tenant_id', '=', tenantB).execute()
    await trx.deleteFrom('tenantry.sessions').where('tenant_id', '=', tenantB).execute()
    await trx.updateTable('tenantry.tenants').set({ status: 'active', name: 'attack-b' }).where('id', '=', tenantB).execute()
    await trx.updateTable('tenantry.memberships').set({ deleted_at: null, status: 'active' }).where('tenant_id', '=', tenantB).execute()
    await trx.insertInto('projects').values({ id: B_PROJECT, tenant_id: tenantB, name: B_MARK, slug: 'same', secret: B_MARK }).execute()
    await trx
      .insertInto('notes')
      .values({ tenant_id: tenantB, body: `${B_MARK} note` })
      .execute()
    const role = await trx
      .insertInto('tenantry.roles')
      .values({ tenant_id: tenantB, name: `${B_MARK}-role`, permissions: ['projects:read'] })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx.insertInto('tenantry.user_roles').values({ tenant_id: tenantB, user_id: userB, role_id: role.id }).execute()
    await trx
      .insertInto('tenantry.invitations')
      .values({
        tenant_id: tenantB,
        email: 'invitee@example.com',
        selector: 'b'.repeat(22),
        secret_hash: B_SECRET_HASH,
        expires_at: sql`now() + interval '1 day'`,
      })
      .execute()
    await trx
      .insertInto('tenantry.sessions')
      .values({
        id: B_SESSION,
        user_id: userB,
        tenant_id: tenantB,
        current_token_id: B_TOKEN,
        user_agent: `${B_MARK}-agent`,
        expires_at: sql`now() + interval '30 days'`,
        idle_expires_at: sql`now() + interval '7 days'`,
      })
      .execute()
    await trx
      .insertInto('tenantry.refresh_tokens')
      .values({ id: B_TOKEN, session_id: B_SESSION, generation: 0, selector: 'c'.repeat(22), secret_hash: B_SECRET_HASH })
      .execute()
  })
}

/** Everything of tenant B an attempt could read or change, as the owner sees it. */
async function stateOfB(w: World): Promise<unknown> {
  const db = w.fileDb.db
  const b = w.tenantB
  return {
    projects: await db.selectFrom('projects').select(['id', 'name', 'status', 'deleted_at', 'tenant_id']).where('tenant_id', '=', b).execute(),
    notes: await db.selectFrom('notes').select(['body']).where('tenant_id', '=', b).orderBy('body').execute(),
    tenant: await db.selectFrom('tenantry.tenants').select(['name', 'status', 'deleted_at']).where('id', '=', b).execute(),
    memberships: await db.selectFrom('tenantry.memberships').select(['user_id', 'status', 'deleted_at']).where('tenant_id', '=', b).execute(),
    roles: await db.selectFrom('tenantry.roles').select(['name', 'permissions', 'deleted_at']).where('tenant_id', '=', b).execute(),
    userRoles: await db.selectFrom('tenantry.user_roles').select(['user_id']).where('tenant_id', '=', b).execute(),
    user: await db.selectFrom('tenantry.users').select(['email', 'password_hash', 'status', 'deleted_at']).where('id', '=', w.userB).execute(),
    sessions: await db.selectFrom('tenantry.sessions').select(['id', 'revoked_at', 'user_agent']).where('tenant_id', '=', b).execute(),
    tokens: await db.selectFrom('tenantry.refresh_tokens').select(['id', 'used_at']).where('session_id', '=', B_SESSION).execute(),
    invitations: await db.selectFrom('tenantry.invitations').select(['email', 'revoked_at', 'accepted_at']).where('tenant_id', '=', b).execute(),
    audit: await db
      .selectFrom('tenantry.audit_logs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('tenant_id', '=', b)
      .execute(),
    systemRoles: await db.selectFrom('tenantry.roles').select(['name', 'permissions']).where('tenant_id', 'is', null).execute(),
    projectsTable: await db.selectFrom('information_schema.tables').select('table_name').where('table_name', 'in', ['projects', 'notes']).execute(),
  }
}

type Outcome =
  /** Refused before any SQL with this code. */
  | { refused: 'FORBIDDEN' | 'VALIDATION' }
  /** Runs; the check sees what it returned. */
  | { scoped: (result: any, w: World) => void | Promise<void> }
  /** Fails in the database (e.g. an unknown column); B is still untouched. */
  | { fails: true }

interface Attack {
  name: string
  run: (db: Kysely<any>, scope: TenantScope<any>, w: World) => Promise<unknown>
  outcome: Outcome
}

const rowsOnlyOfA = (result: any, w: World) => {
  for (const row of result as any[]) if ('tenant_id' in row) expect(row.tenant_id).toBe(w.tenantA)
}

/** A plugin that strips every WHERE it sees (a host plugin gone wrong, or a hostile one). */
const stripWhere: KyselyPlugin = {
  transformQuery: ({ node }) => ({ ...node, where: undefined }) as RootOperationNode,
  transformResult: async ({ result }) => result,
}

const attacks: Attack[] = [
  // ---- joins, subqueries, set operations ------------------------------------------------------
  {
    name: 'self-join on a shared slug',
    run: (db) => db.selectFrom('projects as p').innerJoin('projects as q', 'q.slug', 'p.slug').select(['q.name', 'q.tenant_id']).execute(),
    outcome: { scoped: (r, w) => expect(r).toEqual([{ name: 'A live', tenant_id: w.tenantA }]) },
  },
  {
    name: 'right join onto another tenant through the null-extended side',
    run: (db) => db.selectFrom('notes as n').rightJoin('projects as p', 'p.tenant_id', 'n.tenant_id').select(['p.name']).execute(),
    outcome: { scoped: (r) => expect(r.map((x: any) => x.name)).toEqual(['A live']) },
  },
  {
    name: 'subquery in select counting all projects',
    run: (db) =>
      db
        .selectNoFrom((eb) =>
          eb
            .selectFrom('projects')
            .select((e) => e.fn.countAll<string>().as('n'))
            .as('n'),
        )
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ n: '1' }]) },
  },
  {
    name: 'exists subquery in where probing for another tenant',
    run: (db) =>
      db
        .selectFrom('notes')
        .select('body')
        .where((eb) => eb.exists(eb.selectFrom('projects').select('id').where('name', '=', B_MARK)))
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([]) },
  },
  {
    name: 'subquery in having',
    run: (db) =>
      db
        .selectFrom('notes')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .groupBy('tenant_id')
        .having((eb) => eb.exists(eb.selectFrom('projects').select('id').where('id', '=', B_PROJECT)))
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([]) },
  },
  {
    name: 'CTE reading projects',
    run: (db) =>
      db
        .with('x', (q) => q.selectFrom('projects').select(['name', 'tenant_id']))
        .selectFrom('x')
        .selectAll()
        .execute(),
    outcome: { scoped: (r, w) => expect(r).toEqual([{ name: 'A live', tenant_id: w.tenantA }]) },
  },
  {
    name: 'with recursive over projects',
    run: (db) =>
      db
        .withRecursive('r(name, depth)', (q) =>
          q
            .selectFrom('projects')
            .select(['name', sql.lit(0).as('depth')])
            .unionAll((u) => u.selectFrom('r').select(['r.name', 'r.depth']).where('r.depth', '<', 0)),
        )
        .selectFrom('r')
        .selectAll()
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'with recursive without raw sql',
    run: (db) =>
      db
        .withRecursive('r(name)', (q) =>
          q
            .selectFrom('projects')
            .select('name')
            .union((u) => u.selectFrom('projects as p2').select('p2.name')),
        )
        .selectFrom('r')
        .selectAll()
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ name: 'A live' }]) },
  },
  {
    name: 'data-modifying CTE updating every project',
    run: (db) =>
      db
        .with('u', (q) => q.updateTable('projects').set({ name: 'pwned' }).returning(['id', 'tenant_id']))
        .selectFrom('u')
        .selectAll()
        .execute(),
    outcome: { scoped: (r, w) => expect(r.map((x: any) => x.tenant_id)).toEqual([w.tenantA]) },
  },
  {
    name: 'data-modifying CTE deleting every note',
    run: (db) =>
      db
        .with('d', (q) => q.deleteFrom('notes').returning('body'))
        .selectFrom('d')
        .selectAll()
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ body: 'A note' }]) },
  },
  {
    name: 'data-modifying CTE inserting a note into another tenant',
    run: (db, _s, w) =>
      db
        .with('i', (q) => q.insertInto('notes').values({ body: 'planted', tenant_id: w.tenantB }).returning('id'))
        .selectFrom('i')
        .selectAll()
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'union with every project',
    run: (db) => db.selectFrom('notes').select('body as v').union(db.selectFrom('projects').select('name as v')).orderBy('v').execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ v: 'A live' }, { v: 'A note' }]) },
  },
  {
    name: 'intersect and except',
    run: async (db) => [
      await db.selectFrom('projects').select('name').intersect(db.selectFrom('projects').select('name')).execute(),
      await db.selectFrom('projects').select('name').except(db.selectFrom('notes').select('body as name')).execute(),
    ],
    outcome: { scoped: (r) => expect(r).toEqual([[{ name: 'A live' }], [{ name: 'A live' }]]) },
  },
  {
    name: 'inner lateral join with on true',
    run: (db) =>
      db
        .selectFrom('notes as n')
        .innerJoinLateral(
          (eb) => eb.selectFrom('projects as p').select(['p.name', 'p.tenant_id']).as('l'),
          (j) => j.onTrue(),
        )
        .select(['l.name', 'l.tenant_id'])
        .execute(),
    outcome: { scoped: (r, w) => expect(r).toEqual([{ name: 'A live', tenant_id: w.tenantA }]) },
  },
  {
    name: 'left lateral join with on true',
    run: (db) =>
      db
        .selectFrom('notes as n')
        .leftJoinLateral(
          (eb) => eb.selectFrom('projects as p').select('p.name').whereRef('p.tenant_id', '=', 'n.tenant_id').as('l'),
          (j) => j.onTrue(),
        )
        .select(['n.body', 'l.name'])
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ body: 'A note', name: 'A live' }]) },
  },
  // ---- writes ------------------------------------------------------------------------------
  {
    name: 'insert ... select copying every project name into notes',
    run: (db) =>
      db
        .insertInto('notes')
        .columns(['body'])
        .expression((eb) => eb.selectFrom('projects').select((e) => e.fn('concat', ['name', e.cast(e.val(' copy'), 'text')]).as('body')))
        .returning(['body', 'tenant_id'])
        .execute(),
    outcome: { scoped: (r, w) => expect(r).toEqual([{ body: 'A live copy', tenant_id: w.tenantA }]) },
  },
  {
    name: 'insert ... select naming another tenant in the tenant column',
    run: (db, _s, w) =>
      db
        .insertInto('notes')
        .columns(['body', 'tenant_id'])
        .expression((eb) => eb.selectFrom('projects').select((e) => ['name', e.val(w.tenantB).as('tenant_id')]))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'explicit tenant_id of another tenant in insert values',
    run: (db, _s, w) => db.insertInto('notes').values({ body: 'planted', tenant_id: w.tenantB }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'tenant_id of another tenant from a subquery in insert values',
    run: (db, _s, w) =>
      db
        .insertInto('notes')
        .values((eb) => ({ body: 'planted', tenant_id: eb.selectFrom('tenantry.tenants').select('id').where('id', '=', w.tenantB) }))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'update ... from every project',
    run: (db) =>
      db.updateTable('projects as p').from('notes as n').set({ name: 'pwned' }).whereRef('p.tenant_id', '=', 'n.tenant_id').returning('p.tenant_id').execute(),
    outcome: { scoped: rowsOnlyOfA },
  },
  {
    name: 'delete ... using',
    run: (db) => db.deleteFrom('notes').using('projects').whereRef('notes.tenant_id', '=', 'projects.tenant_id').returning('notes.tenant_id').execute(),
    outcome: { scoped: rowsOnlyOfA },
  },
  {
    name: 'update moving a row to another tenant',
    run: (db, _s, w) => db.updateTable('notes').set({ tenant_id: w.tenantB }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'returning a subquery over another tenant',
    run: (db) =>
      db
        .updateTable('notes')
        .set({ body: 'A note' })
        .returning((eb) => eb.selectFrom('projects').select('secret').where('id', '=', B_PROJECT).as('leak'))
        .execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ leak: null }]) },
  },
  {
    name: 'on conflict do update onto the row of another tenant holding the key',
    run: (db) =>
      db
        .insertInto('notes')
        .values({ body: `${B_MARK} note` })
        .onConflict((oc) => oc.column('body').doUpdateSet({ body: 'hijacked' }))
        .returning('body')
        .execute()
        .catch((error: unknown) => (isTenantryError(error, 'FORBIDDEN') ? [] : Promise.reject(error))),
    outcome: { scoped: (r) => expect(r).toEqual([]) },
  },
  {
    name: 'on conflict do update setting the tenant column',
    run: (db, _s, w) =>
      db
        .insertInto('notes')
        .values({ body: 'A note' })
        .onConflict((oc) => oc.column('body').doUpdateSet({ tenant_id: w.tenantB }))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  // ---- functions --------------------------------------------------------------------------------
  {
    name: "selectFrom tenantry's tokens_list_sessions for a user of another tenant",
    run: (db, _s, w) =>
      db
        .selectFrom((eb) => eb.fn('tenantry.tokens_list_sessions', [eb.val(w.userB)]).as('x'))
        .selectAll()
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'tokens_revoke_session of another tenant',
    run: (db) =>
      db
        .selectFrom((eb) => eb.fn('tenantry.tokens_revoke_session', [eb.val(B_SESSION), eb.val('revoked'), eb.val(null), eb.val(null), eb.val(1000)]).as('x'))
        .selectAll()
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'tokens_find switching the system flag on, then a read in the same transaction',
    run: (_db, scope) =>
      scope.transaction(async (tx) => {
        await tx.db
          .selectFrom((eb) => eb.fn('tenantry.tokens_find', [eb.val('x')]).as('f'))
          .selectAll()
          .execute()
        return tx.db.selectFrom('projects').selectAll().execute()
      }),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'an aggregate named after a tenantry function',
    run: (db, _s, w) => db.selectNoFrom((eb) => eb.fn.agg('tenantry.tokens_list_sessions', [eb.val(w.userB)]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'unqualified tenantry function (search_path)',
    run: (db) => db.selectNoFrom((eb) => eb.fn('is_system', []).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'set_config of the system flag, qualified with pg_catalog',
    run: (db) => db.selectNoFrom((eb) => eb.fn('pg_catalog.set_config', [eb.val('tenantry.system'), eb.val('on'), eb.val(true)]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'query_to_xml running its own query',
    run: (db) => db.selectNoFrom((eb) => eb.fn('query_to_xml', [eb.val('select * from projects'), eb.val(true), eb.val(false), eb.val('')]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'table_to_xml dumping a table',
    run: (db) => db.selectNoFrom((eb) => eb.fn('table_to_xml', [eb.val('projects'), eb.val(true), eb.val(false), eb.val('')]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'pg_read_file',
    run: (db) => db.selectNoFrom((eb) => eb.fn('pg_read_file', [eb.val('postgresql.conf')]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'dblink to the same database',
    run: (db) => db.selectNoFrom((eb) => eb.fn('dblink', [eb.val('dbname=postgres'), eb.val('select 1')]).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a function of the host schema',
    run: (db) => db.selectNoFrom((eb) => eb.fn('public.count_every_project', []).as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  // ---- raw sql in every position --------------------------------------------------------------
  {
    name: 'sql in select',
    run: (db) => db.selectFrom('notes').select(sql<string>`(select string_agg(name, ',') from projects)`.as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'sql in where', run: (db) => db.selectFrom('projects').selectAll().where(sql<boolean>`true or true`).execute(), outcome: { refused: 'FORBIDDEN' } },
  { name: 'sql as a table', run: (db) => db.selectFrom(sql`(select * from projects)`.as('p')).selectAll().execute(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'sql as an order-by direction',
    run: (db) =>
      db
        .selectFrom('projects')
        .select('name')
        .orderBy('name', sql`desc, (select 1 from projects where name = ${B_MARK})` as never)
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in a join condition',
    run: (db) =>
      db
        .selectFrom('notes as n')
        .innerJoin('projects as p', (j) => j.on(sql<boolean>`true or p.tenant_id is not null`))
        .select('p.name')
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in insert values',
    run: (db) => db.insertInto('notes').values({ body: sql<string>`(select secret from projects limit 1)` }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in update set',
    run: (db) => db.updateTable('notes').set({ body: sql<string>`(select secret from projects limit 1)` }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in group by',
    run: (db) => db.selectFrom('projects').select('status').groupBy(sql`status, (select 1)`).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in having',
    run: (db) => db.selectFrom('projects').select('status').groupBy('status').having(sql<boolean>`true`).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in returning',
    run: (db) => db.updateTable('notes').set({ body: 'A note' }).returning(sql<string>`(select secret from projects limit 1)`.as('x')).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql as a limit',
    run: (db) => db.selectFrom('projects').selectAll().limit(sql<number>`(select count(*) from projects)`).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'sql in on conflict where',
    run: (db) =>
      db
        .insertInto('notes')
        .values({ body: `${B_MARK} note` })
        .onConflict((oc) => oc.column('body').doUpdateSet({ body: 'x' }).where(sql<boolean>`true`))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'modifyEnd with sql', run: (db) => db.selectFrom('projects').selectAll().modifyEnd(sql`or true`).execute(), outcome: { refused: 'FORBIDDEN' } },
  { name: 'modifyFront with sql', run: (db) => db.selectFrom('projects').selectAll().modifyFront(sql`/* */`).execute(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: '$call adding sql',
    run: (db) =>
      db
        .selectFrom('projects')
        .selectAll()
        .$call((q) => q.where(sql<boolean>`1 = 1`))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'sql template executed on scope.db', run: (db) => sql`select * from projects`.execute(db), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'a hand-made operator node carrying sql',
    run: (db) =>
      db
        .selectFrom('projects')
        .selectAll()
        .where(
          () =>
            new ExpressionWrapper(
              BinaryOperationNode.create(ColumnNode.create('name'), OperatorNode.create('= name or true or 1 =' as never), ValueNode.create(1)),
            ) as never,
        )
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a hand-made cast whose type is sql',
    run: (db) =>
      db
        .selectFrom('notes')
        .select(
          () =>
            new ExpressionWrapper(CastNode.create(ValueNode.create('1'), DataTypeNode.create('int) , (select secret from projects limit 1' as never))).as(
              'x',
            ) as never,
        )
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  // ---- bundled tables and schema tricks ------------------------------------------------------
  { name: 'select sessions', run: (db) => db.selectFrom('tenantry.sessions').selectAll().execute(), outcome: { refused: 'FORBIDDEN' } },
  { name: 'select refresh tokens', run: (db) => db.selectFrom('tenantry.refresh_tokens').selectAll().execute(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'select invitations',
    run: (db) => db.selectFrom('tenantry.invitations').select(['email', 'secret_hash']).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'select sessions through withSchema',
    run: (db) => db.withSchema('tenantry').selectFrom('sessions').selectAll().execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'select sessions under an alias',
    run: (db) => db.selectFrom('tenantry.sessions as s').select('s.user_agent').execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'select sessions unqualified (search_path)', run: (db) => db.selectFrom('sessions').selectAll().execute(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'join sessions from a scoped table',
    run: (db) => db.selectFrom('notes as n').leftJoin('tenantry.sessions as s', 's.tenant_id', 'n.tenant_id').select('s.user_agent').execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'subquery on refresh tokens',
    run: (db) =>
      db
        .selectFrom('notes')
        .select((eb) => eb.selectFrom('tenantry.refresh_tokens').select('selector').limit(1).as('s'))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: "select tenantry's migration table",
    run: (db) => db.selectFrom('tenantry.tenantry_migration').selectAll().execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a reference to a sessions column through the schema',
    run: (db) =>
      db
        .selectFrom('notes')
        .select((eb) => eb.ref('tenantry.sessions.user_agent').as('x'))
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'users: only members of the tenant, without password hashes',
    run: (db) => db.selectFrom('tenantry.users').selectAll().execute(),
    outcome: {
      scoped: (r, w) => {
        expect(r.map((u: any) => u.id)).toEqual([w.userA])
        expect(r[0]).not.toHaveProperty('password_hash')
      },
    },
  },
  { name: 'users: the password hash column', run: (db) => db.selectFrom('tenantry.users').select('password_hash').execute(), outcome: { fails: true } },
  {
    name: 'memberships, roles, user roles, audit logs and tenants read scoped',
    run: async (db) => ({
      memberships: await db.selectFrom('tenantry.memberships').select('tenant_id').execute(),
      roles: await db.selectFrom('tenantry.roles').select(['name', 'tenant_id']).orderBy('name').execute(),
      userRoles: await db.selectFrom('tenantry.user_roles').select('tenant_id').execute(),
      audit: await db.selectFrom('tenantry.audit_logs').select('tenant_id').execute(),
      tenants: await db.selectFrom('tenantry.tenants').select('id').execute(),
    }),
    outcome: {
      scoped: (r, w) => {
        expect(r.memberships).toEqual([{ tenant_id: w.tenantA }])
        expect(r.roles.map((x: any) => x.tenant_id).every((t: any) => t === w.tenantA || t === null)).toBe(true)
        expect(r.roles.map((x: any) => x.name)).toContain('system-viewer')
        expect(r.userRoles.every((x: any) => x.tenant_id === w.tenantA)).toBe(true)
        expect(r.audit.every((x: any) => x.tenant_id === w.tenantA)).toBe(true)
        expect(r.tenants).toEqual([{ id: w.tenantA }])
      },
    },
  },
  {
    name: 'granting a system role every permission',
    run: (db) =>
      db
        .updateTable('tenantry.roles')
        .set({ permissions: ['*:*'] })
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'un-suspending its own tenant',
    run: (db) => db.updateTable('tenantry.tenants').set({ status: 'active' }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'deleting memberships', run: (db) => db.deleteFrom('tenantry.memberships').execute(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'forging an audit row',
    run: (db) => db.insertInto('tenantry.audit_logs').values({ action: 'projects.update', outcome: 'success' }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'assigning a role by inserting into user_roles',
    run: (db, _s, w) => db.insertInto('tenantry.user_roles').values({ user_id: w.userA, role_id: w.userA }).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  // ---- the handle itself ------------------------------------------------------------------------
  {
    name: 'withPlugin stripping where',
    run: (db) => db.withPlugin(stripWhere).selectFrom('projects').select('name').execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ name: 'A live' }]) },
  },
  {
    name: 'withoutPlugins',
    run: (db) => db.withoutPlugins().selectFrom('projects').select('name').execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ name: 'A live' }]) },
  },
  {
    name: 'connection() running several queries',
    run: (db) =>
      db.connection().execute(async (c) => [await c.selectFrom('projects').select('name').execute(), await c.deleteFrom('notes').returning('body').execute()]),
    outcome: { scoped: (r) => expect(r).toEqual([[{ name: 'A live' }], [{ body: 'A note' }]]) },
  },
  {
    // The host's pool has no `cursor` (pg-cursor), so the driver refuses to stream; nothing leaks either way.
    name: 'streaming a select',
    run: async (db) => {
      const rows: unknown[] = []
      for await (const row of db.selectFrom('projects').select(['name', 'tenant_id']).stream()) rows.push(row)
      return rows
    },
    outcome: { fails: true },
  },
  {
    name: 'explain analyze of an update',
    run: (db) => db.updateTable('projects').set({ name: 'pwned' }).explain('json', sql`analyze`),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a soft-deleted row through the live view',
    run: (db) => db.selectFrom('projects').select('name').where('deleted_at', 'is not', null).execute(),
    outcome: { scoped: (r) => expect(r).toEqual([]) },
  },
  {
    name: 'transaction()',
    run: (db) => db.transaction().execute(async (trx) => trx.selectFrom('projects').selectAll().execute()),
    outcome: { refused: 'VALIDATION' },
  },
  { name: 'startTransaction()', run: (db) => db.startTransaction().execute(), outcome: { refused: 'VALIDATION' } },
  {
    name: 'executeQuery of a raw compiled query',
    run: (db) => db.executeQuery(CompiledQuery.raw('select * from projects')),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'executeQuery of a scoped compiled query with its text swapped',
    run: async (db) => {
      const compiled = db.selectFrom('projects').selectAll().compile()
      return db.executeQuery({ ...compiled, sql: 'select * from projects' })
    },
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'getExecutor().compileQuery of an unscoped node',
    run: async (db, _s, w) => {
      const node = w.tenantry.kysely.selectFrom('projects').selectAll().toOperationNode()
      const executor = db.getExecutor()
      return db.executeQuery(executor.compileQuery(node, { queryId: 'x' } as never))
    },
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'getExecutor().provideConnection running a raw query',
    run: (db) => db.getExecutor().provideConnection((c) => c.executeQuery(CompiledQuery.raw('select * from projects'))),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a builder of the unscoped host Kysely nested in a scoped query',
    run: (db, _s, w) => db.selectFrom('notes').select('body').where('tenant_id', 'in', w.tenantry.kysely.selectFrom('projects').select('tenant_id')).execute(),
    outcome: { scoped: (r) => expect(r).toEqual([{ body: 'A note' }]) },
  },
  {
    name: 'a drop table node nested in a select',
    run: (db) => db.selectNoFrom(() => new ExpressionWrapper(DropTableNode.create(TableNode.create('notes'))).as('x') as never).execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  { name: 'schema.dropTable', run: (db) => db.schema.dropTable('notes').execute(), outcome: { refused: 'FORBIDDEN' } },
  { name: 'schema.alterTable', run: (db) => db.schema.alterTable('projects').dropColumn('tenant_id').execute(), outcome: { refused: 'FORBIDDEN' } },
  { name: 'introspection', run: (db) => db.introspection.getTables(), outcome: { refused: 'FORBIDDEN' } },
  {
    name: 'merge',
    run: (db) => db.mergeInto('notes').using('projects', 'projects.tenant_id', 'notes.tenant_id').whenMatched().thenDelete().execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
  {
    name: 'a hand-made reference node naming refresh tokens',
    run: (db) =>
      db
        .selectFrom('notes')
        .select(
          () =>
            new ExpressionWrapper(ReferenceNode.create(ColumnNode.create('secret_hash'), TableNode.createWithSchema('tenantry', 'refresh_tokens'))).as(
              'x',
            ) as never,
        )
        .execute(),
    outcome: { refused: 'FORBIDDEN' },
  },
]

function attackSuite(mode: 'query' | 'rls', world: () => World): void {
  afterEach(async () => {
    const w = world()
    await resetB(w.fileDb.db, w.tenantB, w.userB)
    await w.fileDb.db.deleteFrom('notes').where('tenant_id', '=', w.tenantA).execute()
    await w.fileDb.db.insertInto('notes').values({ tenant_id: w.tenantA, body: 'A note' }).execute()
    await w.fileDb.db.updateTable('projects').set({ name: 'A live' }).where('tenant_id', '=', w.tenantA).where('slug', '=', 'same').execute()
  })

  it.each(attacks.map((a) => [a.name, a] as const))(`${mode}: %s`, async (_name, attack) => {
    const w = world()
    const before = await stateOfB(w)
    const scope = w.tenantry.withContext({ tenantId: w.tenantA })
    const outcome = await attack.run(scope.db, scope, w).then(
      (result) => ({ result, error: null as unknown }),
      (error: unknown) => ({ result: undefined, error }),
    )
    if ('refused' in attack.outcome) {
      expect(isTenantryError(outcome.error), String(outcome.error)).toBe(true)
      expect((outcome.error as { code: string }).code).toBe(attack.outcome.refused)
    } else if ('fails' in attack.outcome) {
      expect(outcome.error, 'the attempt should fail').toBeTruthy()
    } else {
      expect(outcome.error, String(outcome.error)).toBeNull()
      await attack.outcome.scoped(outcome.result, w)
    }
    const seen = JSON.stringify(outcome.result ?? null, (_k, v) => (typeof v === 'bigint' ? String(v) : v))
    expect(seen).not.toContain(B_MARK)
    expect(seen).not.toContain(w.tenantB)
    expect(seen).not.toContain(w.userB)
    expect(await stateOfB(w)).toEqual(before)
  })
}

const queryDb = await useFileDatabase()
const rlsDb = await useFileDatabase()
let queryWorld: World
let rlsWorld: World

beforeAll(async () => {
  const seeded = await seed(queryDb)
  await sql`create function public.count_every_project() returns bigint language sql as 'select count(*) from projects'`.execute(queryDb.db)
  queryWorld = { fileDb: queryDb, tenantry: makeTenantry(queryDb.pool), ...seeded }
})

beforeAll(async () => {
  const seeded = await seed(rlsDb)
  await sql`create function public.count_every_project() returns bigint language sql as 'select count(*) from projects'`.execute(rlsDb.db)
  const owner = makeTenantry(rlsDb.pool, { isolation: 'rls' })
  await owner.rls.enable()
  const role = await createAppRole(rlsDb)
  const app = makeTenantry(role.pool, { isolation: 'rls' })
  await app.ready()
  rlsWorld = { fileDb: rlsDb, tenantry: app, ...seeded }
})

describe('scope.db attacks, query mode', () => {
  attackSuite('query', () => queryWorld)
})

describe('scope.db attacks, rls mode as an ordinary role', () => {
  attackSuite('rls', () => rlsWorld)
})
