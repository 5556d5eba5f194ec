import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { mapDatabaseError } from '../../src/errors/map-database-error.js'
import type { TenantryError } from '../../src/errors/tenantry-error.js'
import { useFileDatabase } from '../support/test-database.js'

const fileDb = await useFileDatabase()
const db = fileDb.db
const t = (table: string) => `tenantry.${table}`

/** The mapped error of a statement that must fail. */
async function rejection(run: () => Promise<unknown>): Promise<TenantryError> {
  try {
    await run()
  } catch (error) {
    return mapDatabaseError(error) as TenantryError
  }
  throw new Error('expected the database to refuse the statement')
}

async function rowExists(table: string, id: string): Promise<boolean> {
  return (await db.selectFrom(t(table)).select('id').where('id', '=', id).executeTakeFirst()) !== undefined
}

const uniq = () => randomBytes(4).toString('hex')
const newTenant = async (values: Record<string, unknown> = {}) =>
  await db
    .insertInto(t('tenants'))
    .values({ slug: `t-${uniq()}`, name: 'Acme', ...values })
    .returningAll()
    .executeTakeFirstOrThrow()
const newUser = async (values: Record<string, unknown> = {}) =>
  await db
    .insertInto(t('users'))
    .values({ email: `u-${uniq()}@example.com`, ...values })
    .returningAll()
    .executeTakeFirstOrThrow()

let tenantId: string
let userId: string
beforeAll(async () => {
  tenantId = (await newTenant()).id
  userId = (await newUser()).id
})

describe('essential columns', () => {
  it('accepts the documented minimal inserts with every other column defaulted', async () => {
    const { rows } = await sql<{ tenant: string; user: string; role: string; membership: string; grant: string }>`
      with tenant as (insert into tenantry.tenants (slug, name) values (${`min-${uniq()}`}, 'Minimal') returning id),
           usr as (insert into tenantry.users (email) values (${`min-${uniq()}@example.com`}) returning id),
           membership as (insert into tenantry.memberships (tenant_id, user_id) select tenant.id, usr.id from tenant, usr returning id),
           role as (insert into tenantry.roles (tenant_id, name, permissions)
                    select id, 'admin', array['*:*', 'modules:read'] from tenant returning id),
           grant_ as (insert into tenantry.user_roles (tenant_id, user_id, role_id)
                      select tenant.id, usr.id, role.id from tenant, usr, role returning id)
      select tenant.id as tenant, usr.id as user, role.id as role, membership.id as membership, grant_.id as grant
        from tenant, usr, role, membership, grant_`.execute(db)
    const tenant = await db.selectFrom(t('tenants')).selectAll().where('id', '=', rows[0]!.tenant).executeTakeFirstOrThrow()
    expect(tenant).toMatchObject({ status: 'active', type: null, metadata: {}, deleted_at: null })
    expect(tenant.created_at).toBeInstanceOf(Date)
    const user = await db.selectFrom(t('users')).selectAll().where('id', '=', rows[0]!.user).executeTakeFirstOrThrow()
    expect(user).toMatchObject({ status: 'active', external_id: null, password_hash: null, last_login_at: null, metadata: {} })
    const membership = await db.selectFrom(t('memberships')).selectAll().where('id', '=', rows[0]!.membership).executeTakeFirstOrThrow()
    expect(membership.status).toBe('active')
  })

  it('refuses a user without an email with NOT_NULL_VIOLATION naming the column', async () => {
    const error = await rejection(() => db.insertInto(t('users')).values({ display_name: 'nobody' }).execute())
    expect(error).toMatchObject({ code: 'NOT_NULL_VIOLATION', column: 'email' })
  })
})

describe('check constraints', () => {
  const yesterday = sql`now() - interval '1 day'`
  const invitation = (values: Record<string, unknown>) => ({
    tenant_id: tenantId,
    email: 'invitee@example.com',
    selector: randomBytes(16).toString('base64url'),
    secret_hash: randomBytes(32),
    expires_at: sql`now() + interval '7 days'`,
    ...values,
  })
  // [constraint, table, a row that breaks only that constraint]
  const cases: [string, string, () => Record<string, unknown>][] = [
    ['tenants_slug_format', 'tenants', () => ({ slug: 'Not A Slug', name: 'Acme' })],
    ['tenants_slug_format', 'tenants', () => ({ slug: '-leading-dash', name: 'Acme' })],
    ['tenants_name_length', 'tenants', () => ({ slug: `t-${uniq()}`, name: '   ' })],
    ['tenants_status_check', 'tenants', () => ({ slug: `t-${uniq()}`, name: 'Acme', status: 'deleted' })],
    ['tenants_metadata_object', 'tenants', () => ({ slug: `t-${uniq()}`, name: 'Acme', metadata: JSON.stringify([1, 2]) })],
    ['tenants_deleted_after_created', 'tenants', () => ({ slug: `t-${uniq()}`, name: 'Acme', deleted_at: yesterday })],
    ['users_email_format', 'users', () => ({ email: 'not-an-email' })],
    ['users_email_format', 'users', () => ({ email: `${'a'.repeat(320)}@example.com` })],
    ['users_status_check', 'users', () => ({ email: `u-${uniq()}@example.com`, status: 'banned' })],
    ['users_metadata_object', 'users', () => ({ email: `u-${uniq()}@example.com`, metadata: JSON.stringify('text') })],
    ['users_deleted_after_created', 'users', () => ({ email: `u-${uniq()}@example.com`, deleted_at: yesterday })],
    ['memberships_status_check', 'memberships', () => ({ tenant_id: tenantId, user_id: userId, status: 'owner' })],
    ['memberships_deleted_after_created', 'memberships', () => ({ tenant_id: tenantId, user_id: userId, deleted_at: yesterday })],
    ['roles_name_length', 'roles', () => ({ tenant_id: tenantId, name: '' })],
    ['roles_permissions_format', 'roles', () => ({ tenant_id: tenantId, name: `r-${uniq()}`, permissions: ['modules'] })],
    ['roles_permissions_format', 'roles', () => ({ tenant_id: tenantId, name: `r-${uniq()}`, permissions: ['Modules:Read'] })],
    ['roles_permissions_format', 'roles', () => ({ tenant_id: tenantId, name: `r-${uniq()}`, permissions: sql`array['a:b', null]::text[]` })],
    ['roles_deleted_after_created', 'roles', () => ({ tenant_id: tenantId, name: `r-${uniq()}`, deleted_at: yesterday })],
    ['invitations_email_format', 'invitations', () => invitation({ email: 'nobody' })],
    ['invitations_selector_format', 'invitations', () => invitation({ selector: 'short' })],
    ['invitations_secret_hash_length', 'invitations', () => invitation({ secret_hash: randomBytes(16) })],
    ['invitations_accepted_or_revoked', 'invitations', () => invitation({ accepted_at: sql`now()`, revoked_at: sql`now()` })],
    ['invitations_expiry_after_creation', 'invitations', () => invitation({ expires_at: yesterday })],
    ['audit_logs_action_length', 'audit_logs', () => ({ action: '' })],
    ['audit_logs_outcome_check', 'audit_logs', () => ({ action: 'projects.update', outcome: 'maybe' })],
  ]

  it.each(cases)('%s rejects bad data in %s with CHECK_VIOLATION and leaves no row', async (constraint, table, row) => {
    const id = randomUUID()
    const error = await rejection(() =>
      db
        .insertInto(t(table))
        .values({ id, ...row() })
        .execute(),
    )
    expect(error).toMatchObject({ code: 'CHECK_VIOLATION', constraint })
    expect(await rowExists(table, id)).toBe(false)
  })

  it('covers every check constraint of the core and audit tables', async () => {
    const { rows } = await sql<{ name: string }>`
      select conname as name from pg_constraint c join pg_class r on r.oid = c.conrelid
       where c.contype = 'c' and r.relnamespace = 'tenantry'::regnamespace
         and r.relname in ('tenants', 'users', 'memberships', 'roles', 'user_roles', 'invitations', 'audit_logs')`.execute(db)
    expect(new Set(rows.map((r) => r.name))).toEqual(new Set(cases.map(([name]) => name)))
  })

  it('refuses an update that breaks a check and keeps the row as it was', async () => {
    const tenant = await newTenant()
    const error = await rejection(() => db.updateTable(t('tenants')).set({ status: 'gone' }).where('id', '=', tenant.id).execute())
    expect(error).toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'tenants_status_check' })
    const after = await db.selectFrom(t('tenants')).select('status').where('id', '=', tenant.id).executeTakeFirstOrThrow()
    expect(after.status).toBe('active')
  })
})

describe('partial unique indexes', () => {
  const softDelete = (table: string, id: string) => db.updateTable(t(table)).set({ deleted_at: sql`now()` }).where('id', '=', id).execute()

  it('lets a soft-deleted tenant slug be used again, and refuses restoring the old one', async () => {
    const slug = `reuse-${uniq()}`
    const first = await newTenant({ slug })
    expect(await rejection(() => newTenant({ slug }))).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'tenants_slug_live_key' })
    await softDelete('tenants', first.id)
    const second = await newTenant({ slug })
    expect(second.id).not.toBe(first.id)
    const restore = await rejection(() => db.updateTable(t('tenants')).set({ deleted_at: null }).where('id', '=', first.id).execute())
    expect(restore).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'tenants_slug_live_key' })
  })

  it('treats emails case-insensitively and frees a soft-deleted email', async () => {
    const local = `ada-${uniq()}`
    const first = await newUser({ email: `${local}@Example.com` })
    expect(await rejection(() => newUser({ email: `${local.toUpperCase()}@example.COM` }))).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      constraint: 'users_email_live_key',
    })
    await softDelete('users', first.id)
    await newUser({ email: `${local}@example.com` })
    const live = await db.selectFrom(t('users')).select('id').where(sql`lower(email)`, '=', `${local}@example.com`).where('deleted_at', 'is', null).execute()
    expect(live).toHaveLength(1)
  })

  it('keeps role names unique per tenant and among system roles, case-insensitively, until soft-deleted', async () => {
    const name = `Editor-${uniq()}`
    const other = await newTenant()
    const role = async (tenant: string | null, roleName: string) =>
      db.insertInto(t('roles')).values({ tenant_id: tenant, name: roleName }).returning('id').executeTakeFirstOrThrow()
    const first = await role(tenantId, name)
    expect(await rejection(() => role(tenantId, name.toLowerCase()))).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'roles_tenant_name_live_key' })
    await role(other.id, name) // another tenant may use the name
    const system = await role(null, name) // and so may a system role
    expect(await rejection(() => role(null, name.toUpperCase()))).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'roles_tenant_name_live_key' })
    await softDelete('roles', first.id)
    await softDelete('roles', system.id)
    await role(tenantId, name)
    await role(null, name)
  })

  it('lets a user rejoin a tenant after the membership was soft-deleted', async () => {
    const user = await newUser()
    const first = await db.insertInto(t('memberships')).values({ tenant_id: tenantId, user_id: user.id }).returning('id').executeTakeFirstOrThrow()
    expect(await rejection(() => db.insertInto(t('memberships')).values({ tenant_id: tenantId, user_id: user.id }).execute())).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      constraint: 'memberships_tenant_user_live_key',
    })
    await softDelete('memberships', first.id)
    await db.insertInto(t('memberships')).values({ tenant_id: tenantId, user_id: user.id }).execute()
  })
})

describe('updated_at trigger', () => {
  it('stamps updated_at on every update of a bundled table', async () => {
    const tenant = await newTenant({ created_at: sql`now() - interval '1 hour'`, updated_at: sql`now() - interval '1 hour'` })
    await db.updateTable(t('tenants')).set({ name: 'Renamed' }).where('id', '=', tenant.id).execute()
    const { rows } = await sql<{ fresh: boolean }>`
      select updated_at > ${tenant.updated_at} and updated_at >= now() - interval '1 minute' as fresh
        from tenantry.tenants where id = ${tenant.id}`.execute(db)
    expect(rows[0]!.fresh).toBe(true)
  })

  it('keeps an explicitly assigned updated_at (imports, fixtures)', async () => {
    const tenant = await newTenant()
    const explicit = new Date('2020-01-02T03:04:05.000Z')
    await db.updateTable(t('tenants')).set({ name: 'Imported', updated_at: explicit }).where('id', '=', tenant.id).execute()
    const after = await db.selectFrom(t('tenants')).select('updated_at').where('id', '=', tenant.id).executeTakeFirstOrThrow()
    expect(after.updated_at).toEqual(explicit)
  })

  it('is installed on host tables by install_updated_at_trigger, idempotently', async () => {
    await sql`create table public.widgets (id int primary key, name text, updated_at timestamptz not null default now() - interval '1 day')`.execute(db)
    await sql`select tenantry.install_updated_at_trigger('public.widgets')`.execute(db)
    await sql`select tenantry.install_updated_at_trigger('public.widgets')`.execute(db)
    await sql`insert into public.widgets (id, name) values (1, 'a')`.execute(db)
    await sql`update public.widgets set name = 'b' where id = 1`.execute(db)
    const { rows } = await sql<{ fresh: boolean; triggers: number }>`
      select (select updated_at >= now() - interval '1 minute' from public.widgets where id = 1) as fresh,
             (select count(*)::int from pg_trigger where tgrelid = 'public.widgets'::regclass and not tgisinternal) as triggers`.execute(db)
    expect(rows[0]).toEqual({ fresh: true, triggers: 1 })
  })
})

describe('audit_logs', () => {
  const insertAudit = (values: Record<string, unknown> = {}) =>
    db
      .insertInto(t('audit_logs'))
      .values({ tenant_id: tenantId, action: 'projects.update', ...values })
      .returningAll()
      .executeTakeFirstOrThrow()

  it('refuses UPDATE, DELETE and TRUNCATE with FORBIDDEN and keeps the row', async () => {
    const row = await insertAudit()
    const update = await rejection(() => db.updateTable(t('audit_logs')).set({ outcome: 'failure' }).where('id', '=', row.id).execute())
    expect(update).toMatchObject({ code: 'FORBIDDEN', sqlState: '42501' })
    const del = await rejection(() => db.deleteFrom(t('audit_logs')).where('id', '=', row.id).execute())
    expect(del).toMatchObject({ code: 'FORBIDDEN' })
    const truncate = await rejection(() => sql`truncate tenantry.audit_logs`.execute(db))
    expect(truncate).toMatchObject({ code: 'FORBIDDEN' })
    const after = await db.selectFrom(t('audit_logs')).selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()
    expect(after.outcome).toBe('success')
  })

  it('lets prune_audit_logs delete old rows only, and the permission ends with it', async () => {
    const old = await insertAudit({ created_at: sql`now() - interval '400 days'` })
    const recent = await insertAudit()
    const error = await rejection(() =>
      db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ n: number }>`select tenantry.prune_audit_logs(now() - interval '365 days') as n`.execute(trx)
        expect(rows[0]!.n).toBeGreaterThanOrEqual(1)
        // the retention setting was switched off again before the function returned
        await trx.deleteFrom(t('audit_logs')).where('id', '=', recent.id).execute()
      }),
    )
    expect(error).toMatchObject({ code: 'FORBIDDEN' })
    // the refused delete rolled the transaction back; prune again outside it
    await sql`select tenantry.prune_audit_logs(now() - interval '365 days', 10)`.execute(db)
    expect(await rowExists('audit_logs', old.id)).toBe(false)
    expect(await rowExists('audit_logs', recent.id)).toBe(true)
  })
})

describe('indexes', () => {
  it('has an index leading with tenant_id on every tenant-scoped table', async () => {
    const { rows } = await sql<{ table: string }>`
      select distinct r.relname as table from pg_index i
        join pg_class r on r.oid = i.indrelid
        join pg_attribute a on a.attrelid = r.oid and a.attnum = i.indkey[0]
       where r.relnamespace = 'tenantry'::regnamespace and a.attname = 'tenant_id'`.execute(db)
    expect(rows.map((r) => r.table).sort()).toEqual(expect.arrayContaining(['audit_logs', 'invitations', 'memberships', 'roles', 'user_roles']))
  })
})
