import type pg from 'pg'

/**
 * The exact text of the timestamps a statement read. pg parses `timestamp` and `timestamptz` into
 * a `Date`, which holds milliseconds while PostgreSQL stores microseconds. A statement whose
 * parameters array was handed to `recordTimestampTexts` is sent by a guarded client (see
 * `guardPool`) with type parsers that still parse each value with the client's own parser, and
 * remember the text of the last two values of each timestamp column. A keyset cursor then carries
 * the page's last timestamp exactly, without selecting another column.
 *
 * Whatever does not reach a guarded client (a host's own Kysely over an unguarded pool, a plugin
 * that rewrites the statement) records nothing, and `textOf` answers `undefined`.
 */

/** `timestamp` and `timestamptz`. */
const TIMESTAMP_OIDS = new Set([1114, 1184])

type Parser = (text: string) => unknown

/** One timestamp column of the result: its last two values, as parsed and as sent by the server. */
interface Slot {
  lastValue: unknown
  lastText: string | undefined
  previousValue: unknown
  previousText: string | undefined
}

export class TimestampTexts {
  readonly #slots: Slot[] = []

  /** pg's per-query `types`: the client's own parsers, wrapped for the timestamp columns. */
  typesFor(client: Pick<pg.ClientBase, 'getTypeParser'>): { getTypeParser: (oid: number, format?: string) => Parser } {
    return {
      getTypeParser: (oid, format = 'text') => {
        const parse = client.getTypeParser(oid, format as 'text') as Parser
        if (format !== 'text' || !TIMESTAMP_OIDS.has(oid)) return parse
        const slot: Slot = { lastValue: undefined, lastText: undefined, previousValue: undefined, previousText: undefined }
        this.#slots.push(slot)
        return (text) => {
          const value = parse(text)
          slot.previousValue = slot.lastValue
          slot.previousText = slot.lastText
          slot.lastValue = value
          slot.lastText = text
          return value
        }
      },
    }
  }

  /**
   * The server's text of `value`, a timestamp among the last two rows' (the page's last row and
   * the one read after it). Only an object (pg's `Date`) is recognised, by identity: two rows'
   * equal milliseconds never pass for each other's microseconds.
   */
  textOf(value: unknown): string | undefined {
    if (typeof value !== 'object' || value === null) return undefined
    for (const slot of this.#slots) {
      if (slot.lastValue === value) return slot.lastText
      if (slot.previousValue === value) return slot.previousText
    }
    return undefined
  }
}

const recorded = new WeakMap<readonly unknown[], TimestampTexts>()

/** Asks the guarded client that sends a statement with exactly this `parameters` array to record into `texts`. */
export function recordTimestampTexts(parameters: readonly unknown[], texts: TimestampTexts): void {
  recorded.set(parameters, texts)
}

/**
 * `client.query`'s arguments, as a query config with recording parsers when the statement's
 * parameters were registered; otherwise the arguments unchanged.
 */
export function withRecordedTimestamps(client: Pick<pg.ClientBase, 'getTypeParser'>, args: unknown[]): unknown[] {
  const parameters = args[1]
  if (typeof args[0] !== 'string' || !Array.isArray(parameters) || args.length > 2) return args
  const texts = recorded.get(parameters)
  // A client without pg's `getTypeParser` (a host's stand-in) gets the statement as it was.
  if (texts === undefined || typeof client.getTypeParser !== 'function') return args
  recorded.delete(parameters)
  return [{ text: args[0], values: parameters, types: texts.typesFor(client) }]
}
