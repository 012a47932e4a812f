import type { SessionRecord } from '../session/types';

/**
 * When `/refresh` may answer from the stored token set without asking
 * Keycloak (the fast path). Both must hold:
 * - the access token stays valid after `accessTokenValidUntil`, so the
 *   frontend gets one it can use;
 * - Keycloak confirmed the session (code exchange or refresh grant) at or
 *   after `confirmedSince`, so a session Keycloak ended (restart, idle
 *   timeout, disabled user, admin sign-out) is noticed within that bound
 *   even when access tokens live for an hour.
 *
 * The Redis store evaluates the same rule in its READ_FOR_REFRESH script.
 */
export interface Freshness {
  /** epoch ms */
  accessTokenValidUntil: number;
  /** epoch ms */
  confirmedSince: number;
}

/** The fast-path bounds at `now`, or undefined when the fast path is off. */
export function freshnessAt(
  now: number,
  options: {
    minAccessTokenValiditySeconds: number;
    keycloakCheckIntervalSeconds: number;
  },
): Freshness | undefined {
  if (
    options.minAccessTokenValiditySeconds <= 0 ||
    options.keycloakCheckIntervalSeconds <= 0
  ) {
    return undefined;
  }
  return {
    accessTokenValidUntil: now + options.minAccessTokenValiditySeconds * 1000,
    confirmedSince: now - options.keycloakCheckIntervalSeconds * 1000,
  };
}

export function isFresh(
  record: Pick<SessionRecord, 'accessTokenExpiresAt' | 'refreshedAt'>,
  freshness: Freshness | undefined,
): boolean {
  return (
    freshness !== undefined &&
    record.accessTokenExpiresAt !== undefined &&
    record.accessTokenExpiresAt > freshness.accessTokenValidUntil &&
    record.refreshedAt >= freshness.confirmedSince
  );
}
