/** Password hashing for the example's login: scrypt from `node:crypto`, compared in constant time. */
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto'

const KEY_LENGTH = 32

function derive(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key))))
}

/** `scrypt$<salt>$<hash>`, base64url: what the example stores in `users.password_hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  return `scrypt$${salt.toString('base64url')}$${(await derive(password, salt)).toString('base64url')}`
}

/** A stand-in hash, so an unknown user costs the same work as a wrong password. */
const NO_USER = `scrypt$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`

/** Whether `password` matches `stored`; `stored` may be null (unknown user, no password set). */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const [scheme, salt, hash] = (stored ?? NO_USER).split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const actual = await derive(password, Buffer.from(salt, 'base64url'))
  return stored != null && expected.length === actual.length && timingSafeEqual(expected, actual)
}
