import type { Redis } from 'ioredis';
import type { KeycloakRealm } from './KeycloakRealm';
import type { KeycloakTestBackend } from './KeycloakTestBackend';
import { sessionKeyPattern } from './sessionKeyPattern';

/** The session hashes under a store prefix. */
export function sessionKeys(redis: Redis, prefix: string) {
  return redis.keys(sessionKeyPattern(prefix));
}

/** The refresh token a (plain, unsealed) stored session holds. */
export async function storedRefreshToken(
  redis: Redis,
  sessionKey: string,
): Promise<string> {
  const record = await redis.hget(sessionKey, 'record');
  if (!record) throw new Error(`no session at ${sessionKey}`);
  return JSON.parse(record).refreshToken;
}

/**
 * A refresh grant straight at Keycloak's token endpoint, as the backstage
 * client: what Keycloak itself says of a refresh token.
 */
export async function keycloakRefreshGrant(
  realm: KeycloakRealm,
  refreshToken: string,
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${realm.issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('backstage:backstage-dev-secret').toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    }),
  });
  return { status: res.status, body: await res.json() };
}

/** The backend's warnings that carry a Keycloak error_description. */
export function keycloakEndedWarnings(backend: KeycloakTestBackend) {
  return backend.logger.lines.filter(
    l => l.level === 'warn' && l.meta.keycloakErrorDescription !== undefined,
  );
}

/** Prints an error_description Keycloak sent, for the suite's report. */
export function reportKeycloakError(situation: string, description: unknown) {
  process.stderr.write(
    `Keycloak error_description (${situation}): ${JSON.stringify(description)}\n`,
  );
}
