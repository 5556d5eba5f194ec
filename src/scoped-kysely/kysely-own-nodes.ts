import { RawNode, type OperationNode } from 'kysely'

/**
 * Kysely builds a few `RawNode`s itself: the direction of `orderBy(col, 'desc')` and of
 * `ob.desc()`/`ob.asc()` (in `OrderByItemNode.direction`), and `on true` of `j.onTrue()` (in a
 * join's `on`). The raw-SQL guard lets exactly these through, by position and by exact text: a
 * node that is only the word `asc`/`desc` in a direction, or `true` in a join condition, says
 * nothing else whoever built it. Any other raw node is a user's `sql` and is refused.
 */
function isBareRaw(node: OperationNode | undefined, words: readonly string[]): boolean {
  return node !== undefined && RawNode.is(node) && node.parameters.length === 0 && node.sqlFragments.length === 1 && words.includes(node.sqlFragments[0]!)
}

/** `asc` / `desc` as `OrderByItemNode.direction`. */
export function isKyselyDirection(node: OperationNode | undefined): boolean {
  return isBareRaw(node, ['asc', 'desc'])
}

/** `true` as (a conjunct of) a join's `on`, as `JoinBuilder.onTrue()` makes it. */
export function isKyselyOnTrue(node: OperationNode | undefined): boolean {
  return isBareRaw(node, ['true'])
}
