import type { ProfileClaims, SessionRecord } from '../session/types';
import type { TokenResponse } from './KeycloakOidcClient';
import type { SessionBinding } from './sessionBinding';

function expiresAt(seconds: unknown, now: number): number | undefined {
  // Keycloak sends refresh_expires_in: 0 for offline tokens (no idle expiry).
  return typeof seconds === 'number' && seconds > 0
    ? now + seconds * 1000
    : undefined;
}

/** The record for a fresh login. */
export function newSessionRecord(
  tokens: TokenResponse,
  profile: ProfileClaims,
  now: number,
  sessionDurationMs: number | undefined,
  binding?: SessionBinding,
): SessionRecord {
  const claims = tokens.claims();
  if (!claims?.sub) {
    throw new Error('Keycloak returned no ID token subject');
  }
  if (!tokens.refresh_token) {
    throw new Error(
      'Keycloak returned no refresh token; enable the standard flow and refresh tokens for this client',
    );
  }
  return {
    sub: claims.sub,
    sid: typeof claims.sid === 'string' ? claims.sid : undefined,
    refreshToken: tokens.refresh_token,
    accessToken: tokens.access_token,
    idToken: tokens.id_token,
    tokenType: tokens.token_type ?? 'bearer',
    scope: tokens.scope ?? '',
    accessTokenExpiresAt: expiresAt(tokens.expires_in, now),
    refreshTokenExpiresAt: expiresAt(tokens.refresh_expires_in, now),
    createdAt: now,
    refreshedAt: now,
    absoluteExpiresAt:
      sessionDurationMs !== undefined ? now + sessionDurationMs : undefined,
    profile,
    ...binding,
  };
}

/**
 * The record after a refresh grant. Keycloak rotates the refresh token and
 * sends a new ID token, but either may be absent; keep the previous ones then.
 */
export function refreshedSessionRecord(
  previous: SessionRecord,
  tokens: TokenResponse,
  now: number,
  binding?: SessionBinding,
): SessionRecord {
  const claims = tokens.claims();
  if (claims && claims.sub !== previous.sub) {
    throw new Error('Keycloak returned an ID token for a different subject');
  }
  return {
    ...previous,
    sid: typeof claims?.sid === 'string' ? claims.sid : previous.sid,
    refreshToken: tokens.refresh_token ?? previous.refreshToken,
    accessToken: tokens.access_token,
    idToken: tokens.id_token ?? previous.idToken,
    tokenType: tokens.token_type ?? previous.tokenType,
    scope: tokens.scope ?? previous.scope,
    accessTokenExpiresAt: expiresAt(tokens.expires_in, now),
    refreshTokenExpiresAt: tokens.refresh_token
      ? expiresAt(tokens.refresh_expires_in, now)
      : previous.refreshTokenExpiresAt,
    refreshedAt: now,
    // records from before sessions were bound get bound on their next refresh
    ...binding,
  };
}
