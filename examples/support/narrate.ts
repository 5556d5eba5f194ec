/** Output helpers for the examples: short lines a person reads, not logs. */

/** Prints one line. */
export const say = (line: string): void => console.log(line)

/** Prints a step heading. */
export const step = (title: string): void => console.log(`\n── ${title}`)

/** The first characters of an id or token: enough to tell them apart on screen, never the whole secret. */
export const short = (value: string, length = 8): string => `${value.slice(0, length)}…`

/** Runs `fn` and describes its refusal as `CODE`; anything but a TenantryError is rethrown. */
export async function refusal(fn: () => Promise<unknown>, isExpected: (error: unknown) => error is { code: string }): Promise<string> {
  try {
    await fn()
    return 'allowed (unexpected!)'
  } catch (error) {
    if (!isExpected(error)) throw error
    return error.code
  }
}

/** Prints rows as an aligned text table (no index column, unlike `console.table`). */
export function table(rows: Record<string, string>[]): void {
  const first = rows[0]
  if (!first) {
    say('(no rows)')
    return
  }
  const columns = Object.keys(first)
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  say(line(columns))
  say(line(widths.map((w) => '─'.repeat(w))))
  for (const row of rows) say(line(columns.map((c) => row[c] ?? '')))
}
