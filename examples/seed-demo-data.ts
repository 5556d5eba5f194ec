/**
 * Loads the demo data set into DATABASE_URL (migrating first): the same as `npx tenantry seed --demo`.
 * `tsx examples/seed-demo-data.ts --reset` loads it again.
 */
import { runSeedCommand } from '../src/cli/commands/seed.js'

process.exitCode = await runSeedCommand(['--demo', ...process.argv.slice(2)], {
  env: process.env,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
})
