/**
 * `npm run bench [-- --quick | --smoke] [-- --scale] [-- --only=findById,page] [-- --query-only]`: what tenantry costs over the same SQL
 * hand-written with Kysely and with raw `pg`, on one server, in one run. See docs/performance.md.
 */
import { cpus, totalmem } from 'node:os'
import { parseBenchOptions, type BenchOptions } from './bench-options.js'
import { prepareDatabase, startBenchServer, type BenchDatabase } from './bench-database.js'
import { formatLatest, formatScale, latestRows, writeJson, type Latest, type OpResult } from './bench-report.js'
import type { OpDefinition } from './ops/op-context.js'
import { permissionOps } from './ops/permission-ops.js'
import { readOps } from './ops/read-ops.js'
import { referenceOps } from './ops/reference-ops.js'
import { tokenOps } from './ops/token-ops.js'
import { writeOps } from './ops/write-ops.js'
import { CITUS_BENCH_PRESETS, runCitusBench } from './citus/run-citus.js'
import { measureColdStart, measureConcurrency, type ColdStartResult, type ConcurrencyResult } from './throughput.js'
import { callsPerImplementation, measureImplementations, type ImplementationName } from './timing-harness.js'

const ALL_OPS: OpDefinition[] = [...readOps, ...writeOps, ...referenceOps, ...tokenOps, ...permissionOps]
let OPS: OpDefinition[] = ALL_OPS
const RESULTS_DIR = new URL('./results/', import.meta.url)

const log = (line: string) => process.stderr.write(`${line}\n`)

async function runMode(database: BenchDatabase, options: BenchOptions, only?: ImplementationName): Promise<Map<string, OpResult['query'] | string>> {
  const out = new Map<string, OpResult['query'] | string>()
  for (const def of OPS) {
    const built = await def.build(database.ctx)
    if ('unavailable' in built) {
      out.set(def.op, built.unavailable as string)
      continue
    }
    const calls = only ? { [only]: built[only]! } : built
    out.set(def.op, await measureImplementations(calls, () => database.counter, options))
    log(`  ${database.label}: ${def.op}`)
  }
  return out
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2))
  if (process.argv.includes('--citus')) return runCitusBench(CITUS_BENCH_PRESETS[options.mode])
  if (options.only) {
    const unknown = options.only.filter((op) => !ALL_OPS.some((d) => d.op === op))
    if (unknown.length > 0) throw new Error(`bench: unknown op ${unknown.join(', ')} (ops: ${ALL_OPS.map((d) => d.op).join(', ')})`)
    OPS = ALL_OPS.filter((d) => options.only!.includes(d.op))
  }
  const started = Date.now()
  log(`tenantry bench (${options.mode}${options.scale ? ', scale' : ''}): starting PostgreSQL`)
  const server = await startBenchServer()
  const open: BenchDatabase[] = []
  const base = { tenants: options.tenants, rowsPerTenant: options.rowsPerTenant, auditRowsPerTenant: options.rowsPerTenant }
  // softDelete consumes rows: enough for the query run and the scale comparison.
  const victimsPerImplementation = 2 * callsPerImplementation(options)
  try {
    const query = await prepareDatabase(server, { label: 'query', sizes: base, isolation: 'query', victimsPerImplementation })
    open.push(query)
    log(`query mode: ${(base.tenants * base.rowsPerTenant).toLocaleString('en-US')} host rows`)
    const queryResults = await runMode(query, options)

    let concurrency: ConcurrencyResult | null = null
    let coldStart: ColdStartResult | null = null
    let rlsResults = new Map<string, OpResult['query'] | string>()
    let pipelinedResults = new Map<string, OpResult['query'] | string>()
    if (!options.queryOnly) {
      log('concurrency: 50 callers, pool of 10')
      concurrency = await measureConcurrency(query, options.mode)
      log('cold start')
      coldStart = await measureColdStart(query, options.mode)

      const rls = await prepareDatabase(server, { label: 'rls', sizes: base, isolation: 'rls', victimsPerImplementation })
      open.push(rls)
      log('rls mode (tenantry only)')
      rlsResults = await runMode(rls, options, 'tenantry')

      const pipelined = await prepareDatabase(server, { label: 'rlspipe', sizes: base, isolation: 'rls', victimsPerImplementation, pipeline: true })
      open.push(pipelined)
      log('rls mode, pipelining pool (tenantry only)')
      pipelinedResults = await runMode(pipelined, options, 'tenantry')
    }

    const measured = (map: Map<string, OpResult['query'] | string>, op: string) => {
      const r = map.get(op)
      return r && typeof r !== 'string' ? r.tenantry : undefined
    }
    const results: OpResult[] = OPS.map(({ op }) => {
      const q = queryResults.get(op)
      if (typeof q === 'string') return { op, unavailable: q }
      const rls = measured(rlsResults, op)
      const rlsPipelined = measured(pipelinedResults, op)
      return { op, query: q, ...(rls ? { rls } : {}), ...(rlsPipelined ? { rlsPipelined } : {}) }
    })

    let scaleText = ''
    if (options.scale) {
      const large = { tenants: options.scaleTenants, rowsPerTenant: options.scaleRowsPerTenant, auditRowsPerTenant: options.scaleRowsPerTenant }
      const seedStart = Date.now()
      log(`scale: seeding ${(large.tenants * large.rowsPerTenant).toLocaleString('en-US')} host rows and as many audit rows`)
      const big = await prepareDatabase(server, { label: 'scale', sizes: large, isolation: 'query', victimsPerImplementation })
      open.push(big)
      log(`scale: seeded in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`)
      for (const result of results) {
        if (result.unavailable) continue
        const def = OPS.find((d) => d.op === result.op)!
        const [small, huge] = [await def.build(query.ctx), await def.build(big.ctx)]
        if ('unavailable' in small || 'unavailable' in huge) continue
        const pair = await measureImplementations({ base: small.tenantry!, large: huge.tenantry! }, (name) => (name === 'base' ? query : big).counter, options)
        result.scale = { base: pair.base!, large: pair.large! }
        log(`  scale: ${result.op}`)
      }
      scaleText = formatScale(results, base.tenants * base.rowsPerTenant, large.tenants * large.rowsPerTenant)
    }

    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version }
    const latest: Latest = { mode: options.mode, ops: latestRows(results), concurrency, coldStart }
    console.log(formatLatest(latest))
    if (scaleText) console.log(`\n${scaleText}`)
    console.log(`\n${options.mode} run, ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, ${((Date.now() - started) / 1000).toFixed(0)} s`)
    // Only a whole run is the figure of record: a smoke, --only or --query-only run prints and keeps nothing.
    if (options.mode !== 'smoke' && options.only === null && !options.queryOnly) {
      await writeJson(new URL('latest.json', RESULTS_DIR).pathname, latest)
      await writeJson(new URL('latest-details.json', RESULTS_DIR).pathname, {
        mode: options.mode,
        scale: options.scale,
        machine,
        settings: options,
        results,
        concurrency,
        coldStart,
      })
    }
  } catch (error) {
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  } finally {
    for (const database of open.reverse()) await database.close().catch(() => {})
    await server.stop()
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exit(1)
})
