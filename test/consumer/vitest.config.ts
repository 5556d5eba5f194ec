import { defineConfig } from 'vitest/config'

/**
 * The consumer suite's own vitest setup, copied with the suite into a fresh project that installed
 * the packed tarball (scripts/consumer-check.mjs). It is the setup docs/testing.md describes: one
 * server per run from `tenantry/testing`, a migrated template, a clone per test file.
 *
 * One `*.consumer.ts` file per area (repositories, errors, the CommonJS build, the README quick start;
 * tokens, `scope.db`, ... next), each importing `tenantry` as a user does. They are not part of
 * `npm test`, whose include is `*.test.ts`: `npm run test:consumer` runs them. A new test raises
 * the floor `MIN_PASSED` in scripts/consumer-check.mjs.
 */
export default defineConfig({
  test: {
    include: ['**/*.consumer.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['./global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
})
