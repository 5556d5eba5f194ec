import { describe, expect, it } from 'vitest'
import { createFaker, slugify } from '../../src/testing/index.js'

const draw = (seed: string) => {
  const f = createFaker(seed)
  return [
    f.fullName(),
    f.company(),
    f.email(),
    f.slug(3),
    f.uuid(),
    f.int(1, 1000),
    f.sentence(),
    f.date(new Date('2024-01-01'), new Date('2025-01-01')).toISOString(),
  ]
}

describe('createFaker', () => {
  it('gives the same values for the same seed, and others for another seed', () => {
    expect(draw('alpha')).toEqual(draw('alpha'))
    expect(draw('alpha')).not.toEqual(draw('beta'))
  })

  it('gives forks independent, stable streams', () => {
    const a = createFaker('root')
    const b = createFaker('root')
    a.word() // drawing from the parent does not move a fork
    expect(a.fork('users').fullName()).toBe(b.fork('users').fullName())
    expect(createFaker('root').fork('users').words(5)).not.toEqual(createFaker('root').fork('tenants').words(5))
  })

  it('makes values the database accepts', () => {
    const f = createFaker('shapes')
    for (let i = 0; i < 200; i++) {
      expect(f.email()).toMatch(/^[a-z0-9.]+@example\.(com|org|net)$/)
      expect(f.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(f.slug()).toMatch(/^[a-z]+-[a-z]+$/)
      const n = f.int(-3, 3)
      expect(n).toBeGreaterThanOrEqual(-3)
      expect(n).toBeLessThanOrEqual(3)
    }
    expect(new Set(f.sample(['a', 'b', 'c', 'd'], 4))).toEqual(new Set(['a', 'b', 'c', 'd']))
    expect(() => f.int(5, 1)).toThrow(RangeError)
    expect(() => f.pick([])).toThrow(RangeError)
  })

  it('slugifies accents, punctuation and length', () => {
    expect(slugify('Café Müller & Söhne!')).toBe('cafe-muller-sohne')
    expect(slugify('---')).toBe('x')
    expect(slugify(`${'a'.repeat(30)} ${'b'.repeat(30)}`, 40)).toBe(`${'a'.repeat(30)}-${'b'.repeat(9)}`)
  })
})
