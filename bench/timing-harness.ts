import { performance } from 'node:perf_hooks'
import type { CountingPool } from '../test/support/counting-pool.js'

export type ImplementationName = 'tenantry' | 'kysely' | 'raw'

/** One call of an operation; each call may consume fixture state (a row to delete, a token to rotate). */
export type OpCall = () => Promise<unknown>

export interface HarnessSettings {
  samples: number
  batch: number
  warmup: number
}

export interface Measurement {
  /**
   * Median of the times of every timed call, in microseconds. Per call rather than per round: a
   * stall of the machine (a few milliseconds, about 1 call in 100 on a shared VM) then moves one
   * sample instead of a whole round's mean, whichever implementation it happened to hit.
   */
  medianUs: number
  /** Round trips of one call after warm-up. */
  roundTrips: number
  /**
   * Median over rounds of the Node process's CPU time (user + system, `process.cpuUsage`) per call,
   * in microseconds: what the client spends, whatever the server and the neighbours do.
   */
  cpuUs: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Times the implementations of one operation against each other. Rounds are interleaved and the
 * order rotates each round, so drift (autovacuum, a neighbour's test run on the shared cores)
 * hits every implementation alike instead of whichever happened to run last; the median of the
 * calls' times discards the calls a neighbour spoiled. CPU time is read per round (its clock is too
 * coarse for one call).
 */
export async function measureImplementations<Name extends string>(
  calls: Partial<Record<Name, OpCall>>,
  counterFor: (name: Name) => CountingPool,
  settings: HarnessSettings,
): Promise<Partial<Record<Name, Measurement>>> {
  const names = Object.keys(calls) as Name[]
  for (const name of names) for (let i = 0; i < settings.warmup; i++) await calls[name]!()
  const roundTrips = new Map<Name, number>()
  for (const name of names) roundTrips.set(name, await counterFor(name).measure(calls[name]!))
  const samples = new Map<Name, number[]>(names.map((n) => [n, []]))
  const cpu = new Map<Name, number[]>(names.map((n) => [n, []]))
  for (let round = 0; round < settings.samples; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!)
    for (const name of order) {
      const call = calls[name]!
      const times = samples.get(name)!
      const cpuStart = process.cpuUsage()
      for (let i = 0; i < settings.batch; i++) {
        const start = performance.now()
        await call()
        times.push((performance.now() - start) * 1000)
      }
      const used = process.cpuUsage(cpuStart)
      cpu.get(name)!.push((used.user + used.system) / settings.batch)
    }
  }
  const result: Partial<Record<Name, Measurement>> = {}
  for (const name of names) result[name] = { medianUs: median(samples.get(name)!), roundTrips: roundTrips.get(name)!, cpuUs: median(cpu.get(name)!) }
  return result
}

/** How many calls `measureImplementations` makes per implementation (to size consumable fixtures). */
export function callsPerImplementation(settings: HarnessSettings): number {
  return settings.warmup + 1 + settings.samples * settings.batch
}
