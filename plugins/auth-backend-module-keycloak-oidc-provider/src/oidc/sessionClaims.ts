import { decodeJwt, type JWTPayload } from 'jose';
import type { ProfileClaims, SessionRecord } from '../session/types';

const PROFILE_CLAIMS = [
  'email',
  'email_verified',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'picture',
] as const satisfies readonly (keyof ProfileClaims)[];

/**
 * The profile claims of a login, from the ID token and then userinfo: a
 * Keycloak realm whose mappers have "Add to ID token" off sends them only
 * at userinfo. The ID token wins where both have a claim.
 */
export function profileClaimsOf(
  idTokenClaims: JWTPayload,
  userinfo: JWTPayload | undefined,
): ProfileClaims {
  const profile: Record<string, unknown> = {};
  for (const name of PROFILE_CLAIMS) {
    const value = idTokenClaims[name] ?? userinfo?.[name];
    if (typeof value === 'string' || typeof value === 'boolean') {
      profile[name] = value;
    }
  }
  return profile as ProfileClaims;
}

/**
 * The user's claims for resolvers and the profile: the latest ID token's
 * (verified when Keycloak sent it, or the one just received) over the
 * profile claims stored at login, so a refresh needs no userinfo call.
 */
export function sessionClaims(
  record: SessionRecord,
  latestIdTokenClaims?: JWTPayload,
): JWTPayload {
  const idToken =
    latestIdTokenClaims ??
    (record.idToken ? decodeJwt(record.idToken) : { sub: record.sub });
  return { ...record.profile, ...idToken };
}
