/**
 * `npm run example:http`: the example API on http://127.0.0.1:3000 (PORT to change it), over an
 * embedded PostgreSQL or DATABASE_URL (see examples/support/demo-database.ts). Ctrl-C stops it and
 * removes what it created.
 */
import { randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { createAccessTokens } from './access-token.js'
import { apiTables, createApiTables, type ApiDB } from './api-schema.js'
import { createApp } from './app.js'
import { DEMO_PASSWORD, seedApiData } from './seed-api-data.js'
import { createTenantry } from '../demo-imports.js'
import { openDemoDatabase } from '../support/demo-database.js'

const demo = await openDemoDatabase('tenantry_http')
const tenantry = createTenantry<ApiDB>({
  pool: demo.pool,
  schema: demo.schema,
  tables: apiTables(demo.hostSchema),
  // A real deployment reads both keys from its secrets; random keys end every session on restart.
  tokens: { refreshTtl: '30d', idleTtl: '7d', keys: { k1: process.env.TOKEN_HMAC_KEY ?? randomBytes(32) } },
})
try {
  const { error } = await tenantry.migrate()
  if (error) throw error
  await createApiTables(tenantry.kysely, demo)
  await seedApiData(tenantry)
} catch (error) {
  await demo.close()
  throw error
}

const app = createApp({ tenantry, accessTokens: createAccessTokens(randomBytes(32)) })
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 3000) }, (info) => {
  const base = `http://127.0.0.1:${info.port}`
  console.log(`tenantry example API on ${demo.description}`)
  console.log(`listening on ${base}`)
  console.log(`
try:
  curl -s ${base}/auth/login -H 'content-type: application/json' \\
    -d '{"tenant":"acme","email":"ada@acme.test","password":"${DEMO_PASSWORD}"}'
  curl -s ${base}/api/projects -H "authorization: Bearer <accessToken>" -H 'content-type: application/json' -d '{"name":"Apollo"}'
  curl -s ${base}/api/projects -H "authorization: Bearer <accessToken>"
  curl -s ${base}/auth/refresh -H 'content-type: application/json' -d '{"refreshToken":"<refreshToken>"}'
users: ada@acme.test (admin), ben@acme.test (viewer), gus@globex.test (editor); Ctrl-C to stop`)
})

let stopping = false
async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await demo.close()
  console.log('stopped; example data removed')
  process.exit(0)
}
process.on('SIGINT', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
