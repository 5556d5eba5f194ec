import { defineConfig } from 'vitest/config'

// Run by exit-code.test.ts in a child process: FIXTURE picks the one test file to run.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: [process.env.FIXTURE ?? 'failing.fixture.ts'],
    globalSetup: ['embedded-global-setup.ts'],
    hookTimeout: 60_000,
  },
})
