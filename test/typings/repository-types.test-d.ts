import type { Generated, Kysely } from 'kysely'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createTenantry,
  defineTable,
  type BuiltinDatabase,
  type CreateInput,
  type HookArgs,
  type Page,
  type Row,
  type TablePermissions,
  type TableRepository,
  type TenantryDatabase,
  type TransactionScope,
  type UpdateInput,
} from '../../src/index.js'

interface HostDB {
  projects: {
    id: Generated<string>
    tenant_id: string
    name: string
    status: Generated<'active' | 'paused'>
    budget: number | null
    created_at: Generated<Date>
  }
  devices: {
    id: Generated<string>
    org_id: string
    serial: string
    deployed_at: Date | null
  }
}

declare const pool: import('pg').Pool

const tables = {
  projects: defineTable<HostDB, 'projects'>({ table: 'projects', softDelete: 'deleted_at' }),
  devices: defineTable<HostDB, 'devices', 'org_id'>({ table: 'devices', tenantColumn: 'org_id' }),
}
const tenantry = createTenantry<HostDB, typeof tables>({ pool, tables })
const scope = tenantry.withContext({ tenantId: '00000000-0000-4000-8000-000000000000' })

describe('repository row types', () => {
  const projects = scope.repo('projects')

  it('returns the selectable row from findById, getById, findMany and page', () => {
    expectTypeOf(projects.findById).returns.resolves.toEqualTypeOf<Row<HostDB, 'projects'> | null>()
    expectTypeOf(projects.getById).returns.resolves.toEqualTypeOf<Row<HostDB, 'projects'>>()
    expectTypeOf(projects.findMany).returns.resolves.toEqualTypeOf<Row<HostDB, 'projects'>[]>()
    expectTypeOf(projects.page).returns.resolves.toEqualTypeOf<Page<Row<HostDB, 'projects'>>>()
    expectTypeOf<Row<HostDB, 'projects'>>().toEqualTypeOf<{
      id: string
      tenant_id: string
      name: string
      status: 'active' | 'paused'
      budget: number | null
      created_at: Date
    }>()
  })

  it('takes a create input whose tenant column and generated columns are optional', () => {
    expectTypeOf(projects.create).parameter(0).toEqualTypeOf<CreateInput<HostDB, 'projects'>>()
    expectTypeOf<{ name: string }>().toExtend<CreateInput<HostDB, 'projects'>>()
    expectTypeOf<{ budget: number }>().not.toExtend<CreateInput<HostDB, 'projects'>>()
    expectTypeOf<CreateInput<HostDB, 'projects'>>().toHaveProperty('status').toEqualTypeOf<'active' | 'paused' | undefined>()
  })

  it('takes an update patch of the table', () => {
    expectTypeOf(projects.update).parameter(1).toEqualTypeOf<UpdateInput<HostDB, 'projects'>>()
    expectTypeOf<{ status: 'paused' }>().toExtend<UpdateInput<HostDB, 'projects'>>()
    expectTypeOf<{ status: 'gone' }>().not.toExtend<UpdateInput<HostDB, 'projects'>>()
  })

  it('checks where filter keys and orderBy keys against the columns', () => {
    projects.findMany({ where: { status: 'active', budget: null }, orderBy: [['created_at', 'desc']] })
    projects.page({ orderBy: [['budget', 'asc', 'nullsFirst'], 'name'] })
    // @ts-expect-error: not a column
    projects.findMany({ where: { nope: 1 } })
    // @ts-expect-error: not a column
    projects.findMany({ orderBy: 'nope' })
    // @ts-expect-error: not a NULLs order
    projects.page({ orderBy: [['budget', 'asc', 'nullsSometimes']] })
    // @ts-expect-error: a status the column cannot hold
    projects.findMany({ where: { status: 'gone' } })
  })
})

describe('a tenant column other than tenant_id', () => {
  it('makes the declared tenant column optional in create()', () => {
    const devices = scope.repo('devices')
    expectTypeOf(devices.create).parameter(0).toEqualTypeOf<CreateInput<HostDB, 'devices', 'org_id'>>()
    expectTypeOf<{ serial: string; deployed_at: null }>().toExtend<Parameters<typeof devices.create>[0]>()
    expectTypeOf<CreateInput<HostDB, 'devices', 'org_id'>>().toEqualTypeOf<{ id?: string; org_id?: string; serial: string; deployed_at?: Date | null }>()
  })

  it('carries the tenant column as a literal type in the definition', () => {
    expectTypeOf(tables.devices.tenantColumn).toEqualTypeOf<'org_id' | undefined>()
    // @ts-expect-error: the tenant column must be a column of the table
    defineTable<HostDB, 'devices', 'tenant_id'>({ table: 'devices', tenantColumn: 'tenant_id' })
  })

  it('takes declared permissions as a string or a list, per access', () => {
    const declared = defineTable<HostDB, 'projects'>({ table: 'projects', permissions: { read: 'projects:read', write: ['projects:write', 'billing:edit'] } })
    expectTypeOf(declared.permissions).toEqualTypeOf<TablePermissions | undefined>()
    // @ts-expect-error: a permission is a string
    defineTable<HostDB, 'projects'>({ table: 'projects', permissions: { read: 7 } })
    // @ts-expect-error: only read and write
    defineTable<HostDB, 'projects'>({ table: 'projects', permissions: { delete: 'projects:delete' } })
  })

  it('keeps the tenant column inside transactions', async () => {
    await scope.transaction(async (tx) => {
      expectTypeOf(tx.repo('devices').create).parameter(0).toEqualTypeOf<CreateInput<HostDB, 'devices', 'org_id'>>()
      await tx.repo('devices').create({ serial: 'SN-2' })
    })
    // @ts-expect-error: serial is required
    await scope.repo('devices').create({ org_id: 'x' })
  })

  it('keeps the former behaviour when createTenantry is not told the tables', () => {
    const untyped = createTenantry<HostDB>({ pool, tables }).withContext({ tenantId: 'x' })
    expectTypeOf(untyped.repo('projects')).toEqualTypeOf<TableRepository<HostDB, 'projects'>>()
  })
})

describe('TenantryDatabase', () => {
  it('joins the host tables with the bundled ones for scope.db', () => {
    expectTypeOf(scope.db).toEqualTypeOf<Kysely<TenantryDatabase<HostDB>>>()
    expectTypeOf<TenantryDatabase<HostDB>['tenantry.memberships']>().toEqualTypeOf<BuiltinDatabase['memberships']>()
    expectTypeOf<TenantryDatabase<HostDB, 'auth'>>().toHaveProperty('auth.users')
    const query = scope.db
      .selectFrom('tenantry.users')
      .innerJoin('projects', 'projects.tenant_id', 'tenantry.users.id')
      .select(['tenantry.users.email', 'projects.name'])
    expectTypeOf(query.execute).returns.resolves.toEqualTypeOf<{ email: string; name: string }[]>()
  })
})

describe('table hooks', () => {
  it('hand hooks the transaction as a TransactionScope, with the same repositories', () => {
    expectTypeOf<HookArgs['tx']>().toEqualTypeOf<TransactionScope<any>>()
    defineTable<HostDB, 'projects'>({
      table: 'projects',
      hooks: {
        afterUpdate: async (rows, { tx }) => {
          expectTypeOf(rows[0]!.name).toEqualTypeOf<string>()
          expectTypeOf(tx).toEqualTypeOf<TransactionScope<any>>()
          await tx.repo('anything').findMany()
        },
      },
    })
  })

  it("type args.before of the update and delete hooks with the table's row, and give the create hooks none", () => {
    type ProjectRow = Row<HostDB, 'projects'>
    defineTable<HostDB, 'projects'>({
      table: 'projects',
      hooks: {
        beforeUpdate: (patch, { before, ids }) => {
          expectTypeOf(before).toEqualTypeOf<ProjectRow[]>()
          expectTypeOf(ids).toEqualTypeOf<unknown[] | null>()
          return { ...patch, name: before[0]?.name ?? 'unnamed' }
        },
        afterUpdate: (rows, { before }) => {
          expectTypeOf(before).toEqualTypeOf<typeof rows>()
          expectTypeOf(before[0]!.status).toEqualTypeOf<'active' | 'paused'>()
        },
        beforeDelete: (_ids, { before, kind }) => {
          expectTypeOf(before).toEqualTypeOf<ProjectRow[]>()
          expectTypeOf(kind).toEqualTypeOf<'soft' | 'purge'>()
        },
        afterDelete: (_rows, { before }) => {
          expectTypeOf(before[0]!.budget).toEqualTypeOf<number | null>()
        },
        beforeCreate: (_input, args) => {
          expectTypeOf(args).not.toHaveProperty('before')
        },
        afterCreate: (_row, args) => {
          expectTypeOf(args).not.toHaveProperty('before')
        },
      },
    })
    defineTable<HostDB, 'projects'>({
      table: 'projects',
      // @ts-expect-error `before` holds rows of this table, not of another
      hooks: { afterUpdate: (_rows, { before }: { before: { serial: number }[] }) => {} },
    })
  })
})

describe('declared references', () => {
  it('takes a column of the table, with a table name or { table, onSoftDelete }', () => {
    defineTable<HostDB, 'devices', 'org_id'>({ table: 'devices', references: { serial: 'projects' } })
    defineTable<HostDB, 'projects'>({ table: 'projects', references: { name: { table: 'devices', onSoftDelete: 'cascade' } } })
    // @ts-expect-error: not a column of devices
    defineTable<HostDB, 'devices', 'org_id'>({ table: 'devices', references: { project_id: 'projects' } })
    // @ts-expect-error: not an onSoftDelete action
    defineTable<HostDB, 'projects'>({ table: 'projects', references: { name: { table: 'devices', onSoftDelete: 'delete' } } })
  })
})
