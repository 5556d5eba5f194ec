import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { TenantryError } from '../errors/tenantry-error.js'

/** Shortest accepted `cursorKey`, in bytes (UTF-8 for strings): the HMAC-SHA256 block of security. */
export const MIN_CURSOR_KEY_BYTES = 32

/**
 * The key that signs page cursors (HMAC-SHA256). In order of preference: the host's `cursorKey`;
 * a key derived (HKDF) from the token signing key, so hosts that already share `tokens.keys`
 * across processes get cursors that every process accepts; otherwise a random key of this
 * instance, so cursors made by one process are refused by another (pass `cursorKey` when several
 * processes serve one API).
 */
export function resolveCursorKey(cursorKey: string | Uint8Array | undefined, tokenSigningKey: Uint8Array | null): KeyObject {
  if (cursorKey !== undefined) {
    const bytes = typeof cursorKey === 'string' ? Buffer.from(cursorKey, 'utf8') : Buffer.from(cursorKey)
    if (bytes.length < MIN_CURSOR_KEY_BYTES) {
      throw new TenantryError('CONFIGURATION', `createTenantry: cursorKey must be at least ${MIN_CURSOR_KEY_BYTES} bytes`)
    }
    return createSecretKey(bytes)
  }
  if (tokenSigningKey !== null) {
    return createSecretKey(Buffer.from(hkdfSync('sha256', tokenSigningKey, Buffer.alloc(0), 'tenantry page cursor v1', 32)))
  }
  return createSecretKey(randomBytes(32))
}
