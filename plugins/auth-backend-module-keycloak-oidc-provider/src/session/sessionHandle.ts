import { createHash, randomBytes } from 'node:crypto';
import { SessionEndedError } from '../errors';

const HANDLE_BYTES = 32;
// base64url of 32 bytes, no padding
const HANDLE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Creates an opaque session handle with 256 bits of entropy. */
export function createSessionHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url');
}

/**
 * Rejects anything that cannot be a handle we issued, before it costs a
 * store round trip. Says nothing about whether the session exists.
 */
export function assertWellFormedHandle(handle: string): void {
  if (!HANDLE_PATTERN.test(handle)) {
    throw new SessionEndedError('Session cookie is malformed; sign in again');
  }
}

export function isWellFormedHandle(handle: string | undefined): boolean {
  return typeof handle === 'string' && HANDLE_PATTERN.test(handle);
}

/**
 * The store key for a handle. A one-way hash, so a dump of the store yields
 * no usable cookie; a plain SHA-256 is enough because the handle is 256
 * random bits (nothing to brute-force).
 */
export function sessionKeyId(handle: string): string {
  return createHash('sha256').update(handle).digest('base64url');
}

/** The store key for a login transaction, derived from its OAuth state. */
export function loginKeyId(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}
