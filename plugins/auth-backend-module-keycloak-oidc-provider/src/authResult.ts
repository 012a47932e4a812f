import type {
  BackstageSignInResult,
  OAuthAuthenticatorResult,
} from '@backstage/plugin-auth-node';
import type { JWTPayload } from 'jose';
import type { KeycloakProviderOptions } from './config/readProviderOptions';
import type { KeycloakOidcClient } from './oidc/KeycloakOidcClient';
import type { SessionBinding } from './oidc/sessionBinding';
import type { SessionRecord } from './session/types';
import type { ResolvedIdentity } from './signIn/resolvedIdentity';

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
    /**
     * The resolver's verdict on the tokens Keycloak granted for this
     * refresh, reached (and stored) before they were: the sign-in result
     * to answer with.
     */
    signedIn?: BackstageSignInResult;
    /**
     * A stored identity recent enough (`identityCacheTtl`) to issue this
     * refresh's Backstage token from without resolving the user again.
     */
    identity?: ResolvedIdentity;
    /**
     * Ends the session this browser held before the login (its refresh
     * cookie is about to be overwritten); run only once the sign-in
     * resolver accepted the login, so a refused one loses nothing. Never
     * throws.
     */
    endReplacedSession?: () => Promise<void>;
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
  /** Where this environment makes sessions (realm and client) */
  binding: SessionBinding;
}

/** Backstage's profile of the user, from the claims. */
export function profileOf(claims: KeycloakIdTokenClaims) {
  return {
    email: claims.email,
    displayName: claims.name ?? claims.preferred_username,
    picture: claims.picture,
  };
}

/**
 * The authenticator's result for a session: Keycloak's access and ID tokens
 * for the frontend, the handle where Backstage expects a refresh token.
 */
export function authResultOf(
  claims: KeycloakIdTokenClaims,
  handle: string,
  sessionSignIn: SessionAuthResult['sessionSignIn'],
  record: SessionRecord,
  now: number,
): SessionAuthResult {
  return {
    fullProfile: { claims },
    session: {
      accessToken: record.accessToken,
      tokenType: record.tokenType,
      scope: record.scope,
      idToken: record.idToken,
      expiresInSeconds:
        record.accessTokenExpiresAt !== undefined
          ? Math.max(0, Math.floor((record.accessTokenExpiresAt - now) / 1000))
          : undefined,
      refreshToken: handle,
    },
    sessionSignIn,
  };
}
