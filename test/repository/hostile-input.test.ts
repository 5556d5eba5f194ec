import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenantry, defineTable, isTenantryError, type Tenantry } from '../../src/index.js'
import { createFixtures, startTestDatabase } from '../../src/testing/index.js'
import { useFileDatabase } from '../support/test-database.js'
import { appTables, createHostTables, insertTenant, makeTenantry, type AppDB } from '../support/host-schema.js'
import { insertMembership, insertRole, insertUser } from '../rbac/rbac-fixtures.js'

/**
 * Hostile input at every public entry point: misspelt option keys, NUL bytes, values JSON cannot
 * carry, and more bind values than one statement can hold. Each refusal is a typed `VALIDATION`
 * that names the key or column (never the value) and leaves the database as it was.
 */

const fileDb = await useFileDatabase()
let tenantry: Tenantry<AppDB>
let tenantId: string
let otherTenantId: string

/** A marker in every hostile value: no error message or detail may repeat it. */
const MARK = 'zz-hostile-marker'
const NUL = `evil\u0000${MARK}`

beforeAll(async () => {
  await createHostTables(fileDb.db)
  tenantId = await insertTenant(fileDb.db, 'hostile')
  otherTenantId = await insertTenant(fileDb.db, 'hostile-bulk')
  tenantry = makeTenantry(fileDb.pool)
  await tenantry.ready()
})

const scope = () => tenantry.withContext({ tenantId })
const projects = () => scope().repo('projects')

/** Row counts of every table an entry point could write to. */
async function snapshot(): Promise<Record<string, number>> {
  const { rows } = await sql<Record<string, number>>`select
      (select count(*)::int from projects) as projects,
      (select count(*)::int from tenantry.audit_logs) as audit_logs,
      (select count(*)::int from tenantry.roles) as roles,
      (select count(*)::int from tenantry.user_roles) as user_roles,
      (select count(*)::int from tenantry.invitations) as invitations,
      (select count(*)::int from tenantry.sessions) as sessions,
      (select count(*)::int from tenantry.tenantry_migration) as migrations,
      (select count(*) filter (where revoked_at is not null)::int from tenantry.sessions) as revoked_sessions,
      (select count(*) filter (where deleted_at is not null)::int from projects) as deleted_projects`.execute(fileDb.db)
  return rows[0]!
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('expected a refusal, but the call succeeded')
}

/**
 * Runs `call`, expects `VALIDATION` whose message names every string of `names`, whose details
 * match `details`, which never repeats the hostile marker, and after which no table changed and
 * (unless `sql` is allowed) no statement was sent.
 */
async function expectRefused(call: () => unknown, names: string[], details: Record<string, unknown> = {}, options: { noSql?: boolean } = {}): Promise<void> {
  const before = await snapshot()
  fileDb.roundTrips.reset()
  const error = await caught(call)
  if (!isTenantryError(error, 'VALIDATION')) throw new Error(`expected VALIDATION, got ${String(error)}`, { cause: error })
  for (const name of names) expect(error.message).toContain(name)
  expect(error).toMatchObject(details)
  expect(JSON.stringify(error.toJSON())).not.toContain(MARK)
  expect(error.message).not.toContain('\u0000')
  if (options.noSql !== false) expect(fileDb.roundTrips.count).toBe(0)
  expect(await snapshot()).toEqual(before)
}

describe('unknown option keys are VALIDATION naming the key and the method', () => {
  it('refuses update(id, patch, { expectedUpdateAt }) instead of overwriting a concurrent change', async () => {
    const row = await projects().create({ name: 'concurrent' })
    await fileDb.db.updateTable('projects').set({ name: 'changed by someone else' }).where('id', '=', row.id).execute()
    await expectRefused(
      () => projects().update(row.id, { name: 'stale write' }, { expectedUpdateAt: row.updated_at } as never),
      ['expectedUpdateAt', 'projects.update'],
      { operation: 'projects.update', table: 'projects' },
    )
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe('changed by someone else')
  })

  it('refuses unknown options on every repository write, before any SQL', async () => {
    const row = await projects().create({ name: 'target' })
    const bad = { force: true } as never
    await expectRefused(() => projects().create({ name: 'x' }, bad), ['force', 'projects.create'])
    await expectRefused(() => projects().createMany([{ name: 'x' }], bad), ['force', 'projects.createMany'])
    await expectRefused(() => projects().updateMany({ id: row.id }, { name: 'x' }, bad), ['force', 'projects.updateMany'])
    await expectRefused(() => projects().softDelete(row.id, bad), ['force', 'projects.softDelete'])
    await expectRefused(() => projects().softDeleteMany({ id: row.id }, bad), ['force', 'projects.softDeleteMany'])
    await expectRefused(() => projects().restore(row.id, bad), ['force', 'projects.restore'])
    await expectRefused(() => projects().purge(row.id, bad), ['force', 'projects.purge'])
    await expectRefused(() => projects().update(row.id, { name: 'x' }, 'yesterday' as never), ['projects.update', 'options'])
  })

  it('refuses unknown options on the built-in repositories (memberships, roles)', async () => {
    const userId = await insertUser(fileDb.db)
    await expectRefused(() => scope().memberships.create({ user_id: userId }, { upsert: true } as never), ['upsert', 'memberships.create'])
    await expectRefused(() => scope().roles.create({ name: 'r' }, { upsert: true } as never), ['upsert', 'roles.create'])
    await expectRefused(() => scope().roles.createMany([{ name: 'r' }], { upsert: true } as never), ['upsert', 'roles.createMany'])
  })

  it('refuses misspelt createTenantry options, nested ones included', async () => {
    const pool = fileDb.pool
    await expectRefused(() => createTenantry({ pool, isolaton: 'rls' } as never), ['isolaton', 'createTenantry'])
    await expectRefused(() => createTenantry({ pool, audit: { redcat: ['secret'] } } as never), ['audit.redcat', 'createTenantry'])
    await expectRefused(() => createTenantry({ pool, tokens: { refreshTTL: '1d' } } as never), ['refreshTTL', 'tokens'])
    await expectRefused(
      () => createTenantry({ pool, tables: { projects: { table: 'projects', softdelete: 'deleted_at' } } } as never),
      ['softdelete', 'tables.projects'],
    )
  })

  it('refuses misspelt defineTable options, nested ones included', async () => {
    await expectRefused(() => defineTable<AppDB, 'projects'>({ table: 'projects', softdelete: 'deleted_at' } as never), ['softdelete', 'defineTable'])
    await expectRefused(() => defineTable<AppDB, 'projects'>({ table: 'projects', audit: { exlude: ['secret'] } } as never), ['audit.exlude', 'defineTable'])
    await expectRefused(() => defineTable<AppDB, 'projects'>({ table: 'projects', hooks: { beforeCreat: () => {} } } as never), ['hooks.beforeCreat'])
    await expectRefused(
      () => defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: { flag: 'is_active', deletedwhen: false } } as never),
      ['deletedwhen'],
    )
    await expectRefused(() => defineTable<AppDB, 'projects'>({ table: 'projects', insert: { name: 'string' } } as never), ['insert', 'defineTable'])
  })

  it('refuses unknown keys of withContext, asSystem, scopedDb and transaction options', async () => {
    await expectRefused(() => tenantry.withContext({ tenantId, requestID: 'r-1' } as never), ['requestID', 'withContext'])
    await expectRefused(() => tenantry.asSystem({ reason: 'maintenance', actorID: tenantId } as never), ['actorID', 'asSystem'])
    await expectRefused(() => scope().scopedDb({ veiw: 'all' } as never), ['veiw', 'scopedDb'])
    let ran = false
    await expectRefused(
      () =>
        scope().transaction(
          async () => {
            ran = true
          },
          { isolationLevel: 'serializable' } as never,
        ),
      ['isolationLevel', 'transaction'],
    )
    expect(ran).toBe(false)
  })

  it('refuses unknown options of auditLog.list, record and prune', async () => {
    await expectRefused(() => scope().auditLog.list({ resourcetype: 'projects' } as never), ['resourcetype', 'auditLog.list'])
    await expectRefused(() => scope().auditLog.record({ action: 'auth.login', metdata: { via: 'sso' } } as never), ['metdata', 'auditLog.record'])
    await expectRefused(() => scope().auditLog.prune({ olderThan: '1d', batchsize: 1 } as never), ['batchsize', 'auditLog.prune'])
  })

  it('refuses unknown options of role and invitation methods', async () => {
    const userId = await insertUser(fileDb.db)
    await insertMembership(fileDb.db, tenantId, userId)
    const roleId = await insertRole(fileDb.db, tenantId, ['projects:read'])
    const roles = scope().roles
    await expectRefused(() => roles.assign(userId, roleId, { tenantID: tenantId } as never), ['tenantID', 'roles.assign'])
    await expectRefused(() => roles.unassign(userId, roleId, { tenantID: tenantId } as never), ['tenantID', 'roles.unassign'])
    await expectRefused(() => roles.seedDefaultRoles({ viewer: ['*:read'] }, { tenantID: tenantId } as never), ['tenantID', 'roles.seedDefaultRoles'])
    await expectRefused(() => roles.update(roleId, { name: 'x' }, { expectedUpdateAt: new Date() } as never), ['expectedUpdateAt', 'roles.update'])
    await expectRefused(() => scope().invitations.invite({ email: 'a@example.com', rol: [roleId] } as never), ['rol', 'invitations.invite'])
    await expectRefused(() => scope().invitations.list({ statuss: 'pending' } as never), ['statuss', 'invitations.list'])
    await expectRefused(
      () => tenantry.asSystem({ reason: 'accept' }).invitations.accept('inv_x.y', { userID: userId } as never),
      ['userID', 'invitations.accept'],
    )
  })

  it('refuses unknown options of every token method', async () => {
    const userId = await insertUser(fileDb.db)
    const issued = await tenantry.tokens.issue({ userId })
    await expectRefused(() => tenantry.tokens.issue({ userId, userAgnt: 'x' } as never), ['userAgnt', 'tokens.issue'])
    await expectRefused(() => tenantry.tokens.rotate(issued.token, { userAgnt: 'x' } as never), ['userAgnt', 'tokens.rotate'])
    await expectRefused(() => tenantry.tokens.revoke(issued.token, { ipp: '10.0.0.1' } as never), ['ipp', 'tokens.revoke'])
    await expectRefused(() => tenantry.tokens.revokeSession(issued.sessionId, { reason: 'x' } as never), ['reason', 'tokens.revokeSession'])
    await expectRefused(() => tenantry.tokens.revokeAllForUser(userId, { excpt: issued.sessionId } as never), ['excpt', 'tokens.revokeAllForUser'])
    await expectRefused(() => tenantry.tokens.listSessions(userId, { limit: 1 } as never), ['limit', 'tokens.listSessions'])
    await expectRefused(() => tenantry.tokens.prune({ batch: 10 } as never), ['batch', 'tokens.prune'])
    // The session is still live: no misspelt call revoked or rotated anything.
    expect(await tenantry.tokens.listSessions(userId)).toHaveLength(1)
  })

  it('refuses unknown migrate options instead of migrating up (or somewhere else)', async () => {
    await expectRefused(() => tenantry.migrate({ directon: 'down' } as never), ['directon', 'migrate'])
    await expectRefused(() => tenantry.migrate({ schema: 'elsewhere' } as never), ['schema', 'migrate'])
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = 'elsewhere'`.execute(fileDb.db)
    expect(rows[0]!.n).toBe(0)
  })

  it('refuses unknown startTestDatabase and createFixtures options before starting or writing anything', async () => {
    await expectRefused(() => startTestDatabase({ urll: fileDb.url } as never), ['urll', 'startTestDatabase'])
    await expectRefused(() => createFixtures(tenantry, { sead: 'x' } as never), ['sead', 'createFixtures'])
  })
})

describe('a NUL byte in a text value is VALIDATION naming the column or field', () => {
  it('refuses it in create, createMany and update, naming the column', async () => {
    const row = await projects().create({ name: 'clean' })
    await expectRefused(() => projects().create({ name: NUL }), ['"name"', 'NUL'], { column: 'name', table: 'projects' })
    await expectRefused(() => projects().createMany([{ name: 'fine' }, { name: 'ok', slug: null, secret: NUL }]), ['secret'], { column: 'secret' })
    await expectRefused(() => projects().update(row.id, { name: NUL }), ['name'], { column: 'name', operation: 'projects.update' })
    await expectRefused(() => projects().updateMany({ id: row.id }, { secret: NUL }), ['secret'], { column: 'secret' })
  })

  it('refuses it inside jsonb values, in strings and in keys', async () => {
    const row = await projects().create({ name: 'json' })
    await expectRefused(() => projects().create({ name: 'j', tags: { note: NUL } }), ['tags'], { column: 'tags' })
    await expectRefused(() => projects().create({ name: 'j', tags: { [NUL]: 1 } }), ['tags'], { column: 'tags' })
    await expectRefused(() => projects().update(row.id, { tags: { list: ['a', NUL] } }), ['tags'], { column: 'tags' })
  })

  it('refuses it in a value a beforeCreate hook returns', async () => {
    const hooked = createTenantry<AppDB>({
      pool: fileDb.pool,
      tables: {
        ...appTables,
        projects: defineTable<AppDB, 'projects'>({ ...appTables.projects, hooks: { beforeCreate: (input) => ({ ...input, name: NUL }) } }),
      },
    })
    await hooked.ready()
    const before = await snapshot()
    const error = await caught(() => hooked.withContext({ tenantId }).repo('projects').create({ name: 'x' }))
    expect(error).toMatchObject({ code: 'VALIDATION', column: 'name', operation: 'projects.create' })
    expect(JSON.stringify(error)).not.toContain(MARK)
    // The hook ran inside the write's transaction, which rolled back: no row, one `failure` audit row.
    expect(await snapshot()).toEqual({ ...before, audit_logs: before.audit_logs! + 1 })
    const { rows } = await sql<{ outcome: string; error_code: string }>`select outcome, error_code from tenantry.audit_logs
      where action = 'projects.create' order by created_at desc limit 1`.execute(fileDb.db)
    expect(rows[0]).toEqual({ outcome: 'failure', error_code: 'VALIDATION' })
  })

  it('refuses it in where values (equality, operators, in lists) of reads and bulk writes', async () => {
    await expectRefused(() => projects().findMany({ where: { name: NUL } }), ['name'], { column: 'name' })
    await expectRefused(() => projects().count({ where: { name: { in: ['a', NUL] } } }), ['name'], { column: 'name' })
    await expectRefused(() => projects().findOne({ where: { slug: { like: NUL } } }), ['slug'], { column: 'slug' })
    await expectRefused(() => projects().updateMany({ name: { eq: NUL } }, { status: 'paused' }), ['name'], { column: 'name' })
    await expectRefused(() => projects().softDeleteMany({ name: NUL }), ['name'], { column: 'name' })
  })

  it('refuses it in the context (requestId, userAgent) and in asSystem reason', async () => {
    await expectRefused(() => tenantry.withContext({ tenantId, requestId: NUL }), ['requestId', 'withContext'], { column: 'requestId' })
    await expectRefused(() => tenantry.withContext({ tenantId, userAgent: NUL }), ['userAgent'], { column: 'userAgent' })
    await expectRefused(() => tenantry.asSystem({ reason: NUL }), ['reason', 'asSystem'], { column: 'reason' })
  })

  it('refuses it in auditLog.record fields and metadata', async () => {
    await expectRefused(() => scope().auditLog.record({ action: NUL }), ['action', 'auditLog.record'])
    await expectRefused(() => scope().auditLog.record({ action: 'auth.login', resourceId: NUL }), ['resourceId'])
    await expectRefused(() => scope().auditLog.record({ action: 'auth.login', metadata: { note: NUL } }), ['metadata'])
    await expectRefused(() => scope().auditLog.list({ action: NUL }), ['action', 'auditLog.list'])
    // A key is data too: the error names the field that holds it, never the key.
    await expectRefused(() => scope().auditLog.record({ action: 'auth.login', metadata: { [NUL]: 1 } }), ['metadata'], { column: 'metadata' })
  })

  it('refuses it in roles.create, roles.update and invitations', async () => {
    const roleId = await insertRole(fileDb.db, tenantId, ['projects:read'])
    await expectRefused(() => scope().roles.create({ name: NUL }), ['name', 'roles.create'], { column: 'name' })
    await expectRefused(() => scope().roles.create({ name: 'ok', description: NUL }), ['description'], { column: 'description' })
    await expectRefused(() => tenantry.asSystem({ reason: 'system role' }).roles.create({ name: NUL }), ['name'])
    await expectRefused(() => scope().roles.update(roleId, { description: NUL }), ['description', 'roles.update'])
    await expectRefused(() => scope().invitations.invite({ email: `a${NUL}@example.com` }), ['email', 'invitations.invite'])
    await expectRefused(() => scope().roles.seedDefaultRoles({ [NUL]: ['projects:read'] }), ['roles.seedDefaultRoles', 'NUL'])
  })

  it('refuses it in tokens.issue, rotate and revoke request info', async () => {
    const userId = await insertUser(fileDb.db)
    await expectRefused(() => tenantry.tokens.issue({ userId, userAgent: NUL }), ['userAgent', 'tokens.issue'], { column: 'userAgent' })
    await expectRefused(() => tenantry.tokens.issue({ userId, clientId: NUL }), ['clientId'])
    const issued = await tenantry.tokens.issue({ userId })
    await expectRefused(() => tenantry.tokens.rotate(issued.token, { userAgent: NUL }), ['userAgent', 'tokens.rotate'])
    await expectRefused(() => tenantry.tokens.revoke(issued.token, { userAgent: NUL }), ['userAgent', 'tokens.revoke'])
  })
})

describe('an SQL expression or a function as a written value is VALIDATION naming the column', () => {
  // Without input schemas, so nothing but tenantry stands between the value and the statement.
  const bare = () =>
    createTenantry<AppDB>({
      pool: fileDb.pool,
      tables: { ...appTables, projects: defineTable<AppDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }) },
    })
  const expression = sql<string>`(select string_agg(name, ',') from projects)`

  it('refuses it in create, createMany, update and updateMany before any SQL, and writes nothing', async () => {
    const repo = bare().withContext({ tenantId }).repo('projects')
    const row = await repo.create({ name: 'data only' })
    await expectRefused(() => repo.create({ name: expression as never }), ['"name"', 'SQL expression'], { column: 'name', table: 'projects' })
    await expectRefused(() => repo.createMany([{ name: 'fine' }, { name: 'x', slug: (() => MARK) as never }]), ['"slug"'], { column: 'slug' })
    await expectRefused(() => repo.update(row.id, { name: expression as never }), ['"name"'], { column: 'name', operation: 'projects.update' })
    await expectRefused(() => repo.updateMany({ id: row.id }, { secret: sql`current_user` as never }), ['"secret"'], { column: 'secret' })
    const stored = await fileDb.db.selectFrom('projects').select('name').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.name).toBe('data only')
  })

  it('refuses it in a patch a beforeUpdate hook returns, rolling the write back', async () => {
    const hooked = createTenantry<AppDB>({
      pool: fileDb.pool,
      tables: {
        ...appTables,
        projects: defineTable<AppDB, 'projects'>({
          table: 'projects',
          softDelete: 'deleted_at',
          hooks: { beforeUpdate: (patch) => ({ ...patch, name: expression as never }) },
        }),
      },
    })
    const repo = hooked.withContext({ tenantId }).repo('projects')
    const row = await repo.create({ name: 'before the hook' })
    const error = await caught(() => repo.update(row.id, { status: 'paused' }))
    expect(error).toMatchObject({ code: 'VALIDATION', column: 'name', operation: 'projects.update' })
    const stored = await fileDb.db.selectFrom('projects').select(['name', 'status']).where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored).toEqual({ name: 'before the hook', status: 'active' })
  })
})

describe('values JSON cannot carry are VALIDATION naming the field', () => {
  it('refuses a circular, BigInt or function metadata in auditLog.record', async () => {
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    await expectRefused(() => scope().auditLog.record({ action: 'export', metadata: circular }), ['metadata', 'circular'], { column: 'metadata' })
    await expectRefused(() => scope().auditLog.record({ action: 'export', metadata: { rows: 10n } }), ['metadata', 'BigInt'])
    await expectRefused(() => scope().auditLog.record({ action: 'export', metadata: { run: () => MARK } }), ['metadata', 'function'])
  })

  it('refuses BigInt, functions and circular structures in json column values on create and update', async () => {
    const row = await projects().create({ name: 'json-target' })
    const circular: Record<string, unknown> = {}
    circular.loop = [circular]
    await expectRefused(() => projects().create({ name: 'j', tags: { n: 1n } }), ['tags', 'BigInt'], { column: 'tags' })
    await expectRefused(() => projects().create({ name: 'j', tags: { f: () => MARK } }), ['tags', 'function'], { column: 'tags' })
    await expectRefused(() => projects().update(row.id, { tags: circular }), ['tags', 'circular'], { column: 'tags' })
    await expectRefused(() => projects().update(row.id, { tags: { s: Symbol(MARK) } }), ['tags', 'symbol'])
  })

  it('still accepts shared (non-circular) references, dates and nested arrays in json values', async () => {
    const shared = { x: 1 }
    const row = await projects().create({ name: 'shared', tags: { a: shared, b: shared, when: new Date(0), deep: [[1, [2]]] } })
    const stored = await fileDb.db.selectFrom('projects').select('tags').where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(stored.tags).toEqual({ a: { x: 1 }, b: { x: 1 }, when: '1970-01-01T00:00:00.000Z', deep: [[1, [2]]] })
  })
})

describe('createMany beyond 65,535 bind values', () => {
  const bulkScope = () => tenantry.withContext({ tenantId: otherTenantId })

  async function countsFor(namePrefix: string) {
    const { rows } = await sql<{ rows: number; audits: number }>`select
        (select count(*)::int from projects where tenant_id = ${otherTenantId} and name like ${`${namePrefix}%`}) as rows,
        (select count(*)::int from tenantry.audit_logs a
          where a.tenant_id = ${otherTenantId} and a.action = 'projects.create' and a.outcome = 'success'
            and a.new_values ->> 'name' like ${`${namePrefix}%`}) as audits`.execute(fileDb.db)
    return rows[0]!
  }

  it('keeps 100 rows of 7 columns at one round trip', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ name: `small-${i}`, slug: `small-${i}`, status: 'active', secret: 's', budget: i, tags: { i } }))
    const trips = await fileDb.roundTrips.measure(() => bulkScope().repo('projects').createMany(rows))
    expect(trips).toBe(1)
    expect(await countsFor('small-')).toEqual({ rows: 100, audits: 100 })
  })

  it('inserts 10,000 rows of 7 columns (70,000 values) with one audit row and one hook call per record', async () => {
    let before = 0
    let after = 0
    const hooked = createTenantry<AppDB>({
      pool: fileDb.pool,
      tables: {
        ...appTables,
        projects: defineTable<AppDB, 'projects'>({
          ...appTables.projects,
          hooks: {
            beforeCreate: () => {
              before++
            },
            afterCreate: () => {
              after++
            },
          },
        }),
      },
    })
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ name: `wide-${i}`, slug: `wide-${i}`, status: 'paused', secret: 'x', budget: i, tags: { i } }))
    const created = await hooked.withContext({ tenantId: otherTenantId }).repo('projects').createMany(rows)
    expect(created).toHaveLength(10_000)
    expect(new Set(created.map((r) => r.slug)).size).toBe(10_000)
    expect({ before, after }).toEqual({ before: 10_000, after: 10_000 })
    expect(await countsFor('wide-')).toEqual({ rows: 10_000, audits: 10_000 })
  }, 120_000)

  it('inserts 50,000 rows with one audit row each', async () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => ({ name: `many-${i}`, budget: i }))
    const created = await bulkScope().repo('projects').createMany(rows)
    expect(created).toHaveLength(50_000)
    expect(await countsFor('many-')).toEqual({ rows: 50_000, audits: 50_000 })
  }, 180_000)

  it('writes none of a large batch when one row fails (one transaction), and records the failure', async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ name: `doomed-${i}`, budget: i === 39_999 ? -1 : i }))
    const error = await caught(() => bulkScope().repo('projects').createMany(rows))
    expect(error).toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'projects_budget_check' })
    expect(await countsFor('doomed-')).toEqual({ rows: 0, audits: 0 })
    const { rows: failures } = await sql<{ n: number }>`select count(*)::int as n from tenantry.audit_logs
      where tenant_id = ${otherTenantId} and action = 'projects.create' and outcome = 'failure' and error_code = 'CHECK_VIOLATION'`.execute(fileDb.db)
    expect(failures[0]!.n).toBe(1)
  }, 120_000)
})
