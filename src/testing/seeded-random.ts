import { createHash } from 'node:crypto'

/** A source of uniformly distributed numbers in [0, 1). */
export type RandomSource = () => number

/**
 * A small, fast, seedable generator (sfc32). `Math.random` cannot be seeded, and fixtures must
 * produce the same values for the same seed on every machine and every run.
 *
 * @example
 * const random = seededRandom('my-seed')
 * random() // always the same first number for 'my-seed'
 */
export function seededRandom(seed: string | number): RandomSource {
  // SHA-256 spreads similar seeds ('a', 'b') into unrelated states.
  const digest = createHash('sha256').update(String(seed)).digest()
  let a = digest.readUInt32LE(0)
  let b = digest.readUInt32LE(4)
  let c = digest.readUInt32LE(8)
  let d = digest.readUInt32LE(12)
  const next = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  // Discard a few outputs: the first values of sfc32 are weakly mixed.
  for (let i = 0; i < 12; i++) next()
  return next
}
