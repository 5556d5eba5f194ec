import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Type tests (`expectTypeOf`) under test/typings run with the suite: `tsc`, no database.
    typecheck: { enabled: true, include: ['test/typings/**/*.test-d.ts'], tsconfig: 'test/typings/tsconfig.json' },
  },
})
