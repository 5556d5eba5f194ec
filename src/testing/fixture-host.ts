import type { Kysely } from 'kysely'
import type { RoleDefinition } from '../rbac/role-input.js'
import type { TokenIssuer } from './fixture-types.js'

/**
 * The parts of a tenantry instance that fixtures use, as plain interfaces. `tenantry/testing` is a
 * bundle of its own; typed against the `Tenantry` class (whose private fields make it nominal), it
 * would refuse the instance a user made with `createTenantry` from `tenantry`.
 */
export interface FixtureRepository<Row = any> {
  create(input: any): Promise<Row>
  createMany(inputs: any[]): Promise<Row[]>
  findOne(options?: { where?: Record<string, unknown> }): Promise<Row | null>
  findMany(options?: { where?: Record<string, unknown> }): Promise<Row[]>
  getById(id: string): Promise<Row>
  purge(id: string): Promise<Row>
  withDeleted(): FixtureRepository<Row>
}

/** The parts of a tenant scope (or `asSystem` scope) that fixtures use. */
export interface FixtureScope {
  repo(name: any): FixtureRepository
  readonly tenants: FixtureRepository
  readonly users: FixtureRepository
  readonly memberships: FixtureRepository
  readonly roles: FixtureRepository & {
    assign(userId: string, roleId: string, options?: { tenantId?: string }): Promise<unknown>
    setPermissions(id: string, permissions: readonly string[]): Promise<any>
    seedDefaultRoles(definitions: Record<string, RoleDefinition>, options?: { tenantId?: string }): Promise<unknown>
  }
  readonly userRoles: FixtureRepository
  transaction<T>(fn: (tx: FixtureScope) => Promise<T>): Promise<T>
}

/** What `createFixtures` and `seedDemoData` accept: a `Tenantry` made by `createTenantry`. */
export interface FixtureTenantry<DB = any> {
  readonly kysely: Kysely<DB>
  asSystem(actor: { actorId?: string | null; reason: string }): FixtureScope
  withContext(context: { tenantId: string; actorId?: string | null }): FixtureScope
  readonly tokens?: TokenIssuer
}

/** The host's `Database` interface of a tenantry instance. */
export type DatabaseOf<T> = T extends { readonly kysely: Kysely<infer DB> } ? DB : any

/** The scope type `withContext` of a tenantry instance returns (its full, typed API). */
export type ScopeOf<T> = T extends { withContext(context: any): infer S } ? S : FixtureScope
