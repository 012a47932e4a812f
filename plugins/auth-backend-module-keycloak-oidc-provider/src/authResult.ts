import type { OAuthAuthenticatorResult } from '@backstage/plugin-auth-node';
import type { JWTPayload } from 'jose';
import type { KeycloakProviderOptions } from './config/readProviderOptions';
import type { KeycloakOidcClient } from './oidc/KeycloakOidcClient';

/**
 * The verified ID token claims of the session's user. Resolvers match on
 * these (`sub`, `email`, `preferred_username`).
 *
 * @public
 */
export type KeycloakIdTokenClaims = JWTPayload & {
  sub: string;
  sid?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  picture?: string;
};

/**
 * The full profile a sign-in resolver or profile transform sees.
 *
 * @public
 */
export interface KeycloakOidcProfile {
  /** The verified ID token's claims, with the profile claims of the login */
  claims: KeycloakIdTokenClaims;
}

/**
 * What the keycloak-oidc authenticator hands to sign-in resolvers;
 * `session.refreshToken` is the session handle, never a Keycloak token.
 *
 * @public
 */
export type KeycloakAuthResult = OAuthAuthenticatorResult<KeycloakOidcProfile>;

/**
 * A result of this authenticator: what the sign-in resolver step (see
 * `completeSessionSignIn`) needs to know about the session behind it. The
 * handle itself is `session.refreshToken`.
 */
export interface SessionAuthResult extends KeycloakAuthResult {
  sessionSignIn: {
    /** Created by this request's login, not an existing one refreshed */
    isNew: boolean;
    /** The entity the session signed in as, as stored */
    entityRef?: string;
  };
}

export function isSessionAuthResult(
  result: KeycloakAuthResult,
): result is SessionAuthResult {
  return 'sessionSignIn' in result;
}

/** One auth environment, as `initialize` made it from its config block. */
export interface KeycloakEnvironment {
  options: KeycloakProviderOptions;
  client: KeycloakOidcClient;
}
