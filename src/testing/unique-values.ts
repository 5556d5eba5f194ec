import { randomBytes } from 'node:crypto'

const NAMESPACE = /^[a-z0-9]{0,16}$/

/**
 * How fixture values stay deterministic and unique at once: the seed decides every value, a value
 * repeated within one fixture set gets `-2`, `-3`, ..., and the namespace tag is appended to
 * unique columns only (slugs, emails, `unique()` in factories), so fixture sets that share a
 * database never collide while names and everything else stay identical for the same seed.
 */
export class UniqueValues {
  readonly namespace: string
  readonly #used = new Map<string, Map<string, number>>()

  constructor(namespace: string) {
    this.namespace = namespace
  }

  /** `base` the first time it is claimed for `kind`, then `base-2`, `base-3`, ... */
  claim(kind: string, base: string): string {
    let seen = this.#used.get(kind)
    if (!seen) {
      seen = new Map()
      this.#used.set(kind, seen)
    }
    const count = (seen.get(base) ?? 0) + 1
    seen.set(base, count)
    return count === 1 ? base : `${base}-${count}`
  }

  /** A claimed `base` with the namespace appended after `separator` (nothing when the namespace is empty). */
  tagged(kind: string, base: string, separator = '-'): string {
    const claimed = this.claim(kind, base)
    return this.namespace ? `${claimed}${separator}${this.namespace}` : claimed
  }
}

/**
 * The namespace of a fixture set: the caller's (`''` turns tagging off), or six random base-36
 * characters, so two test files (or two runs against a kept database) never produce the same slug.
 */
export function resolveNamespace(namespace: string | undefined): string {
  if (namespace === undefined) {
    return [...randomBytes(6)].map((byte) => (byte % 36).toString(36)).join('')
  }
  if (!NAMESPACE.test(namespace)) {
    throw new Error('createFixtures: namespace must be 0-16 lower-case letters or digits')
  }
  return namespace
}
