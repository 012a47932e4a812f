import type { SessionRecord } from './types';

/**
 * How long a session may stay in the store from `now`: the configured idle
 * TTL, but never past the refresh token's own expiry (Keycloak's
 * `refresh_expires_in`, i.e. SSO Session Idle/Max) nor the absolute cap.
 * Keeping a session longer would only keep a cookie that cannot refresh.
 */
export function sessionTtlMs(
  record: SessionRecord,
  idleTtlSeconds: number,
  now: number,
): number {
  let ttl = idleTtlSeconds * 1000;
  if (record.refreshTokenExpiresAt !== undefined) {
    ttl = Math.min(ttl, record.refreshTokenExpiresAt - now);
  }
  if (record.absoluteExpiresAt !== undefined) {
    ttl = Math.min(ttl, record.absoluteExpiresAt - now);
  }
  return Math.max(ttl, 1);
}
