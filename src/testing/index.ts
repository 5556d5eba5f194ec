/**
 * Test helpers for applications built on tenantry: a real PostgreSQL per run, a migrated template
 * cloned per test file, and seeded fixtures.
 *
 * @module tenantry/testing
 */
export {
  startTestDatabase,
  withDatabase,
  type StartTestDatabaseOptions,
  type TestDatabase,
  type TestDatabaseSource,
} from './start-test-database.js'
export { cloneTestDatabase, type ClonedDatabase } from './clone-test-database.js'
export { createFixtures, type Fixtures, DEFAULT_FIXTURE_ROLES } from './create-fixtures.js'
export type { DatabaseOf, FixtureRepository, FixtureScope, FixtureTenantry, ScopeOf } from './fixture-host.js'
export { createFaker, slugify, type FixtureFaker } from './fixture-faker.js'
export { seededRandom, type RandomSource } from './seeded-random.js'
export type {
  CreateFixturesOptions,
  CreateManyOptions,
  CreateOptions,
  Factory,
  FactoryContext,
  FixtureUser,
  MembershipFixtureOptions,
  MembershipRow,
  RoleFixtureOptions,
  RoleRef,
  RoleRow,
  SessionFixture,
  SessionFixtureOptions,
  TenantOverrides,
  TenantRef,
  TenantRow,
  TokenIssuer,
  UserFixtureOptions,
  UserRef,
  UserRoleRow,
  UserRow,
} from './fixture-types.js'
export {
  seedDemoData,
  demoDataSet,
  type DemoRole,
  type DemoTenant,
  type DemoUser,
  type SeedDemoDataOptions,
  type SeedDemoDataResult,
} from './seed-demo-data.js'
