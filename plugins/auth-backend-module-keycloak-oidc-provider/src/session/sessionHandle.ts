import { createHash, randomBytes } from 'node:crypto';
import { SessionEndedError } from '../errors';

const SECRET_BYTES = 32;
const USER_TAG_LENGTH = 16;
// <user tag>.<256 random bits>, both base64url without padding
const HANDLE_PATTERN = /^([A-Za-z0-9_-]{16})\.[A-Za-z0-9_-]{43}$/;
const SESSION_ID_PATTERN = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

const sha256 = (value: string) =>
  createHash('sha256').update(value).digest('base64url');

/**
 * Groups every key of one Keycloak user in the store (one Redis Cluster
 * slot), so a user's sessions, their index and evictions change atomically.
 * A hash of `sub`: not secret, and not a credential.
 */
export function userTag(sub: string): string {
  return sha256(`keycloak-sub:${sub}`).slice(0, USER_TAG_LENGTH);
}

/**
 * Creates an opaque session handle: the user's tag and 256 random bits.
 * Only the random part makes it unguessable; the tag only routes it.
 */
export function createSessionHandle(sub: string): string {
  return `${userTag(sub)}.${randomBytes(SECRET_BYTES).toString('base64url')}`;
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

/** The user tag a handle carries. */
export function userTagOfHandle(handle: string): string {
  return handle.slice(0, USER_TAG_LENGTH);
}

/**
 * The store key id for a handle. A one-way hash, so a dump of the store
 * yields no usable cookie; a plain SHA-256 is enough because the handle
 * holds 256 random bits (nothing to brute-force).
 */
export function sessionKeyId(handle: string): string {
  return sha256(handle);
}

/**
 * The id operators see for a session (admin API): user tag and key id, both
 * hashes, so it cannot be turned back into a cookie.
 */
export function sessionIdOfHandle(handle: string): string {
  return `${userTagOfHandle(handle)}.${sessionKeyId(handle)}`;
}

/** Splits an admin session id, or undefined when it is not one. */
export function parseSessionId(
  id: string,
): { tag: string; keyId: string } | undefined {
  const match = SESSION_ID_PATTERN.exec(id);
  return match ? { tag: match[1], keyId: match[2] } : undefined;
}

/** The store key id for a login transaction, derived from its OAuth state. */
export function loginStateKeyId(state: string): string {
  return sha256(state);
}

/** The store key id of a back-channel logout token's `jti`. */
export function logoutTokenKeyId(jti: string): string {
  return sha256(jti);
}

/** The stored form of a Keycloak `sid`, matched by back-channel logout. */
export function sidKeyId(sid: string): string {
  return sha256(`keycloak-sid:${sid}`);
}

/** The store key id of a Backstage entity ref, for the admin API. */
export function entityKeyId(entityRef: string): string {
  return sha256(`entity:${entityRef.toLocaleLowerCase('en-US')}`);
}
