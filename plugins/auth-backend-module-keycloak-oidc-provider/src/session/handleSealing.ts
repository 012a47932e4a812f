import { hkdfSync } from 'node:crypto';
import { openParts, sealParts, type OpenResult } from './RecordCipher';

const VERSION = 'v2';
const SALT = 'backstage keycloak-oidc session record';
const INFO = 'aes-256-gcm v2';

/**
 * The record key of one session: HKDF-SHA256 of the 256 random bits in its
 * handle. The server stores only a hash of the handle, so neither a Redis
 * dump nor the backend's config (nor both) opens a record; only the
 * browser's cookie does.
 */
function keyOf(handle: string): Buffer {
  const secret = Buffer.from(
    handle.slice(handle.indexOf('.') + 1),
    'base64url',
  );
  return Buffer.from(hkdfSync('sha256', secret, SALT, INFO, 32));
}

/**
 * Seals a session's token set under its handle's key, bound to the Redis
 * key it is stored under: `v2.<iv>.<ciphertext>.<tag>`.
 */
export function sealForHandle(
  handle: string,
  plaintext: string,
  associatedData: string,
): string {
  return `${VERSION}.${sealParts(keyOf(handle), plaintext, associatedData)}`;
}

/** Whether a stored value was sealed by `sealForHandle`. */
export function isSealedForHandle(sealed: string): boolean {
  return sealed.startsWith(`${VERSION}.`);
}

export function openForHandle(
  handle: string,
  sealed: string,
  associatedData: string,
): OpenResult {
  if (!isSealedForHandle(sealed)) {
    return { failure: 'corrupt' };
  }
  return openParts(
    keyOf(handle),
    sealed.slice(VERSION.length + 1),
    associatedData,
  );
}
