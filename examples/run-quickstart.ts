/**
 * `npm run example:quickstart`: runs examples/quickstart.ts (the README's quick start, as it stands)
 * in a throwaway database: a new database on DATABASE_URL when set, otherwise on an embedded
 * PostgreSQL; removed when it ends (see support/demo-database.ts).
 */
import { openDemoDatabase } from './support/demo-database.js'

const demo = await openDemoDatabase('tenantry_quickstart')
try {
  if (demo.schema !== 'tenantry') {
    throw new Error('the quick start uses the default schemas "tenantry" and "public": give it a role that may CREATE DATABASE, or a scratch database')
  }
  console.log(`running the quick start on ${demo.description}`)
  process.env.DATABASE_URL = demo.url
  await import('./quickstart.js')
} finally {
  await demo.close()
}
