import { decodeJwt, type JWTPayload } from 'jose';
import { LogoutTokenRejectedError } from '../errors';

/** Anything that validates a logout token, e.g. a LogoutTokenVerifier. */
export interface LogoutTokenVerifierLike {
  verify(token: string): Promise<{ sub?: string; sid?: string; jti: string }>;
}

/** A verifier for one issuer and client, as createLogoutTokenVerifier makes. */
export interface RoutableLogoutTokenVerifier extends LogoutTokenVerifierLike {
  readonly issuer: string;
  readonly clientId: string;
}

/**
 * One verifier for several auth environments (each its own issuer and
 * client): picks the one whose issuer (and client, when two environments
 * share a realm) the token claims. The unverified claims only route; the
 * chosen verifier checks the whole token, signature first.
 */
export function selectLogoutTokenVerifier(
  verifiers: readonly RoutableLogoutTokenVerifier[],
): LogoutTokenVerifierLike {
  if (verifiers.length === 1) {
    return verifiers[0];
  }
  return {
    async verify(token) {
      let claims: JWTPayload;
      try {
        claims = decodeJwt(token);
      } catch (error) {
        throw new LogoutTokenRejectedError(
          'malformed',
          `not a valid signed JWT (${(error as Error).message})`,
        );
      }
      if (claims.iss === undefined) {
        throw new LogoutTokenRejectedError(
          'missing_iss',
          'missing required "iss" claim',
        );
      }
      const byIssuer = verifiers.filter(v => v.issuer === claims.iss);
      if (byIssuer.length === 0) {
        throw new LogoutTokenRejectedError(
          'invalid_iss',
          'unexpected "iss" claim value',
        );
      }
      const audiences = ([] as unknown[]).concat(claims.aud ?? []);
      const chosen =
        byIssuer.find(v => audiences.includes(v.clientId)) ?? byIssuer[0];
      return chosen.verify(token);
    },
  };
}
