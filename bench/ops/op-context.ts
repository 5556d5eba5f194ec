import type { Kysely } from 'kysely'
import type pg from 'pg'
import type { Tenantry } from '../../src/index.js'
import type { BenchActors, BenchDB } from '../host-fixture.js'
import type { ImplementationName, OpCall } from '../timing-harness.js'

/** Everything an operation needs to build its three implementations on one database. */
export interface OpContext {
  tenantry: Tenantry<BenchDB>
  /** Plain Kysely on the same pool, for the hand-written implementation. */
  kysely: Kysely<any>
  /** The same pool, for raw `pg`. */
  pool: pg.Pool
  tenantId: string
  actors: BenchActors
  /** Live rows of the bench tenant (inside the `updateMany` batches). */
  ids: string[]
  /** Live rows reserved for `softDelete`, one list per implementation (each call consumes one). */
  victims: Record<ImplementationName, string[]>
  /** Rows per `updateMany` batch (`where batch = k`). */
  batchSize: number
}

/** An operation: its implementations, or why it cannot be measured yet. */
export type OpImplementations = Partial<Record<ImplementationName, OpCall>> | { unavailable: string }

export interface OpDefinition {
  op: string
  build(ctx: OpContext): Promise<OpImplementations>
}

/** Request metadata every audited write carries, identical in every implementation. */
export const REQUEST = { ip: '10.0.0.7', userAgent: 'tenantry-bench', requestId: 'bench-request' }

/** Cycles through `items`, so repeated calls spread over many rows instead of one hot row. */
export function cycle<T>(items: readonly T[]): () => T {
  let i = 0
  return () => items[i++ % items.length]!
}

/** Takes the next unused item; running out means the fixture was sized wrong. */
export function consume<T>(items: T[], what: string): () => T {
  return () => {
    const next = items.pop()
    if (next === undefined) throw new Error(`bench: ran out of ${what}`)
    return next
  }
}
