import { hkdfSync } from 'node:crypto';
import {
  openParts,
  sealParts,
  type OpenResult,
  type RecordCipherKey,
} from './RecordCipher';

const VERSION = 'v2';
const SALT = 'backstage keycloak-oidc session record';
const INFO = 'aes-256-gcm v2';

/**
 * The record key of one session: HKDF-SHA256 of the 256 random bits in its
 * handle. The server stores only a hash of the handle, so neither a Redis
 * dump nor the backend's config (nor both) opens a record; only the
 * browser's cookie does. With a server key (`encryption.keys`) as the HKDF
 * salt, a record also needs that key to be made: whoever can write to
 * Redis cannot plant a session of their own.
 */
function keyOf(handle: string, serverKey?: Buffer): Buffer {
  const secret = Buffer.from(
    handle.slice(handle.indexOf('.') + 1),
    'base64url',
  );
  return Buffer.from(hkdfSync('sha256', secret, serverKey ?? SALT, INFO, 32));
}

/** How records are sealed: by the handle alone, or with server keys too. */
export interface HandleSealing {
  /** the first seals, every one opens; none: the handle alone */
  serverKeys?: RecordCipherKey[];
}

/**
 * Seals a session's token set, bound to the Redis key it is stored under:
 * `v2.<iv>.<ciphertext>.<tag>`, or `v2.<server key id>.<iv>.<ciphertext>.<tag>`.
 */
export function sealForHandle(
  handle: string,
  plaintext: string,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
): string {
  const server = serverKeys?.[0];
  const parts = sealParts(
    keyOf(handle, server?.key),
    plaintext,
    associatedData,
  );
  return server ? `${VERSION}.${server.id}.${parts}` : `${VERSION}.${parts}`;
}

/** Whether a stored value was sealed by `sealForHandle`. */
export function isSealedForHandle(sealed: string): boolean {
  return sealed.startsWith(`${VERSION}.`);
}

/**
 * Opens what `sealForHandle` made. With server keys configured, only a
 * value sealed with one of them opens: one sealed by the handle alone could
 * have been written by anyone with access to Redis.
 */
export function openForHandle(
  handle: string,
  sealed: string,
  associatedData: string,
  { serverKeys }: HandleSealing = {},
): OpenResult {
  const parts = sealed.split('.');
  if (parts[0] !== VERSION || (parts.length !== 4 && parts.length !== 5)) {
    return { failure: 'corrupt' };
  }
  const body = parts.slice(-3).join('.');
  if (parts.length === 4) {
    return serverKeys?.length
      ? { failure: 'unknown-key' }
      : openParts(keyOf(handle), body, associatedData);
  }
  const server = serverKeys?.find(key => key.id === parts[1]);
  return server
    ? openParts(keyOf(handle, server.key), body, associatedData)
    : { failure: 'unknown-key' };
}
