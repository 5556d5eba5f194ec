import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'
import { isConnectionError } from '../errors/map-database-error.js'
import { withRecordedTimestamps } from './timestamp-texts.js'

/** Pools whose idle-client errors tenantry already absorbs (one listener per pool, however many instances). */
const guardedPools = new WeakSet<object>()
/** The wrappers `guardPool` returned, so wrapping twice is a no-op. */
const guardedWrappers = new WeakSet<object>()

/** What tenantry needs of a pool: `pg.Pool`, or anything with the same `connect`/`end`. */
export type ConnectablePool = Pick<pg.Pool, 'connect' | 'end'> & Partial<Pick<pg.Pool, 'on' | 'options'>> & { Client?: unknown }

/**
 * Wraps the host's `pg.Pool` for Kysely so that a client checked out by tenantry always has an
 * `error` listener. `pg` emits `error` on a client whose connection breaks (backend terminated,
 * server restarted, socket reset), and `pg-pool` removes its own listener while the client is
 * checked out: without ours, a connection lost between two statements of a transaction is an
 * unhandled `'error'` event that ends the process. The error itself still reaches the caller,
 * because the statement in flight (or the next one) fails with it; the broken client is discarded
 * on release. Idle clients lost while in the pool are dropped by `pg-pool`, which emits `error` on
 * the pool: tenantry adds one listener there too, so a plain `new pg.Pool()` needs no setup.
 * A guarded client also sends a statement registered with `recordTimestampTexts` with parsers that
 * keep the server's text of its timestamps (a keyset cursor's microseconds).
 *
 * @example
 * const db = new Kysely<AppDB>({ dialect: new PostgresDialect({ pool: guardPool(pool) }) })
 * const tenantry = createTenantry<AppDB>({ db })
 */
export function guardPool(pool: ConnectablePool | PostgresPool): PostgresPool {
  if (guardedWrappers.has(pool)) return pool as PostgresPool
  const host = pool as ConnectablePool
  if (typeof host.on === 'function' && !guardedPools.has(host)) {
    guardedPools.add(host)
    // pg-pool has already removed the broken idle client; the next checkout opens a new one.
    host.on('error', ignoreIdleClientError)
  }
  const wrapper: PostgresPool = {
    async connect(): Promise<PostgresPoolClient> {
      const client = (await host.connect()) as pg.PoolClient
      guardClient(client)
      return client as unknown as PostgresPoolClient
    },
    end: () => host.end(),
    // Kysely reads these to open a control connection when it cancels a query.
    get options() {
      return host.options ?? {}
    },
    get Client() {
      return host.Client as PostgresPool['Client']
    },
  }
  guardedWrappers.add(wrapper)
  return wrapper
}

function ignoreIdleClientError(): void {}

/**
 * Keeps an `error` listener on `client` until it is released (pg-pool gives each checkout a new
 * `release`), and releases a client whose statement failed with a connection error as broken. A
 * terminated backend sends its FATAL error to the statement in flight before the socket closes, so
 * at release time pg still thinks the client usable: returned to the pool, it would fail the next
 * caller (a retry, or the audit row of the failure) with "Connection terminated unexpectedly".
 */
function guardClient(client: pg.PoolClient): void {
  let broken = false
  const onError = (): void => {
    // The statement in flight rejects with this error, and the next one with "not queryable".
    broken = true
  }
  client.on('error', onError)
  const ownQuery = Object.hasOwn(client, 'query')
  const query = client.query
  client.query = function guardedQuery(this: pg.PoolClient, ...args: unknown[]) {
    const result = (query as (...a: unknown[]) => unknown).apply(client, withRecordedTimestamps(client, args))
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (isConnectionError(error)) broken = true
      })
    }
    return result
  } as typeof client.query
  const release = client.release.bind(client)
  client.release = (destroy?: Error | boolean) => {
    client.removeListener('error', onError)
    if (ownQuery) client.query = query
    else delete (client as { query?: unknown }).query
    return release(destroy || broken)
  }
}
