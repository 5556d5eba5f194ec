export {
  startTestDatabase,
  withDatabase,
  type StartTestDatabaseOptions,
  type TestDatabase,
  type TestDatabaseSource,
} from './start-test-database.js'
