import { seededRandom, type RandomSource } from './seeded-random.js'

const FIRST_NAMES = [
  'Ada',
  'Alan',
  'Amara',
  'Ana',
  'Arjun',
  'Beatriz',
  'Chen',
  'Dara',
  'Elif',
  'Emil',
  'Farah',
  'Grace',
  'Hana',
  'Idris',
  'Ines',
  'Jonas',
  'Kai',
  'Lena',
  'Luca',
  'Maya',
  'Mateo',
  'Nadia',
  'Noah',
  'Olga',
  'Omar',
  'Priya',
  'Rafael',
  'Sara',
  'Tomas',
  'Uma',
  'Viktor',
  'Yara',
  'Yusuf',
  'Zoe',
] as const

const LAST_NAMES = [
  'Adeyemi',
  'Almeida',
  'Becker',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Novak',
  'Okafor',
  'Petrov',
  'Quinn',
  'Rossi',
  'Sato',
  'Schmidt',
  'Silva',
  'Tanaka',
  'Umarov',
  'Varga',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zhang',
] as const

const COMPANY_WORDS = [
  'Acme',
  'Aperture',
  'Beacon',
  'Cobalt',
  'Cascade',
  'Delta',
  'Evergreen',
  'Falcon',
  'Granite',
  'Harbor',
  'Helix',
  'Initech',
  'Juniper',
  'Keystone',
  'Lumen',
  'Meridian',
  'Northwind',
  'Orbit',
  'Pinnacle',
  'Quartz',
  'Redwood',
  'Summit',
  'Tidal',
  'Umbra',
  'Vertex',
  'Willow',
  'Zenith',
] as const

const COMPANY_SUFFIXES = ['Labs', 'Logistics', 'Systems', 'Health', 'Energy', 'Foods', 'Robotics', 'Studios', 'Works', 'Analytics'] as const

const WORDS = [
  'amber',
  'anchor',
  'atlas',
  'birch',
  'breeze',
  'canyon',
  'cedar',
  'comet',
  'coral',
  'dawn',
  'ember',
  'fern',
  'fjord',
  'glacier',
  'grove',
  'harvest',
  'horizon',
  'island',
  'jade',
  'lagoon',
  'lantern',
  'maple',
  'meadow',
  'nebula',
  'oasis',
  'onyx',
  'orchid',
  'pebble',
  'prairie',
  'quill',
  'raven',
  'reef',
  'river',
  'saffron',
  'sierra',
  'spruce',
  'tundra',
  'valley',
  'willow',
  'zephyr',
] as const

/** RFC 2606 reserved domains: generated addresses can never reach a real inbox. */
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'] as const

/**
 * A tiny deterministic fake-data generator: the same seed gives the same sequence of values on
 * every machine. Enough for fixtures (names, emails, words, slugs, numbers, dates), no dependency.
 *
 * @example
 * const faker = createFaker('seed-1')
 * faker.fullName() // e.g. 'Maya Okafor', the same on every run
 * faker.slug()     // e.g. 'cedar-harvest'
 */
export interface FixtureFaker {
  /** The seed this generator was made from. */
  readonly seed: string
  /** A number in [0, 1). */
  float(): number
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  bool(probabilityOfTrue?: number): boolean
  pick<T>(items: readonly T[]): T
  /** `count` distinct items of `items`, in random order. */
  sample<T>(items: readonly T[], count: number): T[]
  firstName(): string
  lastName(): string
  fullName(): string
  /** A company name such as `Northwind Logistics`. */
  company(): string
  word(): string
  words(count?: number): string[]
  /** A capitalised sentence with a full stop. */
  sentence(wordCount?: number): string
  /** Lower-case words joined by `-`, e.g. `amber-fjord`. */
  slug(wordCount?: number): string
  /** An address on an RFC 2606 domain, derived from `name` when given. */
  email(name?: string): string
  /** A v4-shaped UUID (not random: derived from the seed). */
  uuid(): string
  hex(length: number): string
  /** A date in [from, to). */
  date(from: Date, to: Date): Date
  /** An independent generator for a sub-stream; the same label always gives the same stream. */
  fork(label: string | number): FixtureFaker
}

/** Makes a `FixtureFaker` seeded from `seed`. */
export function createFaker(seed: string | number): FixtureFaker {
  return new SeededFaker(String(seed), seededRandom(seed))
}

/** Lower-case, ASCII-only, `-`-separated form of `text`, cut to `maxLength`. */
export function slugify(text: string, maxLength = 48): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
  return slug.slice(0, maxLength).replace(/-+$/, '') || 'x'
}

class SeededFaker implements FixtureFaker {
  readonly seed: string
  readonly #random: RandomSource

  constructor(seed: string, random: RandomSource) {
    this.seed = seed
    this.#random = random
  }

  float(): number {
    return this.#random()
  }

  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new RangeError('faker.int: expects integers with min <= max')
    return min + Math.floor(this.#random() * (max - min + 1))
  }

  bool(probabilityOfTrue = 0.5): boolean {
    return this.#random() < probabilityOfTrue
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('faker.pick: empty list')
    return items[this.int(0, items.length - 1)]!
  }

  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items]
    // Fisher–Yates on a copy, stopped after `count` swaps.
    const n = Math.min(count, pool.length)
    for (let i = 0; i < n; i++) {
      const j = this.int(i, pool.length - 1)
      ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
    }
    return pool.slice(0, n)
  }

  firstName(): string {
    return this.pick(FIRST_NAMES)
  }

  lastName(): string {
    return this.pick(LAST_NAMES)
  }

  fullName(): string {
    return `${this.firstName()} ${this.lastName()}`
  }

  company(): string {
    return `${this.pick(COMPANY_WORDS)} ${this.pick(COMPANY_SUFFIXES)}`
  }

  word(): string {
    return this.pick(WORDS)
  }

  words(count = 3): string[] {
    return Array.from({ length: count }, () => this.word())
  }

  sentence(wordCount = 6): string {
    const text = this.words(wordCount).join(' ')
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`
  }

  slug(wordCount = 2): string {
    return this.words(wordCount).join('-')
  }

  email(name?: string): string {
    const local = slugify(name ?? this.fullName(), 40).replace(/-/g, '.')
    return `${local}@${this.pick(EMAIL_DOMAINS)}`
  }

  uuid(): string {
    const hex = this.hex(32).split('')
    hex[12] = '4'
    hex[16] = '89ab'[this.int(0, 3)]!
    const s = hex.join('')
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
  }

  hex(length: number): string {
    let out = ''
    while (out.length < length) out += this.int(0, 15).toString(16)
    return out
  }

  date(from: Date, to: Date): Date {
    const start = from.getTime()
    return new Date(start + Math.floor(this.#random() * Math.max(0, to.getTime() - start)))
  }

  fork(label: string | number): FixtureFaker {
    return createFaker(`${this.seed}/${label}`)
  }
}
