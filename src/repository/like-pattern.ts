/**
 * `contains`, `startsWith` and `endsWith` search for the text as written: `%`, `_` and the escape
 * character itself are escaped, so `{ contains: '50%' }` finds "50%" and not "500".
 * PostgreSQL's default LIKE escape character is the backslash; the statements name it anyway.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

export type SearchOperator = 'contains' | 'startsWith' | 'endsWith'

/** The LIKE pattern of a search operator. */
export function searchPattern(op: SearchOperator, text: string): string {
  const escaped = escapeLike(text)
  if (op === 'startsWith') return `${escaped}%`
  if (op === 'endsWith') return `%${escaped}`
  return `%${escaped}%`
}
