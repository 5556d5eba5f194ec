/**
 * The `references` option of `defineTable`, as its types: kept apart from `references.ts` (which
 * reads table models) so that table declarations can name it without an import cycle.
 */

/** What soft-deleting a referenced row does to the live rows that reference it. */
export type OnSoftDelete = 'restrict' | 'cascade' | 'ignore'

/**
 * One declared reference: the referenced table's key in `createTenantry({ tables })`, or that key
 * with `onSoftDelete` (`'restrict'` when omitted).
 */
export type ReferenceOption = string | { table: string; onSoftDelete?: OnSoftDelete }
