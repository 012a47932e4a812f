import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  createOAuthAuthenticator,
  type OAuthAuthenticator,
  type OAuthAuthenticatorResult,
} from '@backstage/plugin-auth-node';
import type { Request } from 'express';
import { decodeJwt, type JWTPayload } from 'jose';
import { randomNonce, randomPKCECodeVerifier } from 'openid-client';
import {
  readProviderOptions,
  type KeycloakProviderOptions,
} from './config/readProviderOptions';
import { KeycloakUnavailableError, SessionEndedError } from './errors';
import {
  KeycloakInvalidGrantError,
  KeycloakOidcClient,
} from './oidc/KeycloakOidcClient';
import {
  newSessionRecord,
  refreshedSessionRecord,
} from './oidc/sessionRecordFromTokens';
import {
  assertWellFormedHandle,
  createSessionHandle,
  isWellFormedHandle,
} from './session/sessionHandle';
import { sessionTtlMs } from './session/sessionTtl';
import type {
  LoginTransaction,
  SessionRecord,
  SessionStore,
  StoredSession,
} from './session/types';

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

/** @public */
export interface KeycloakOidcProfile {
  claims: KeycloakIdTokenClaims;
}

/** @public */
export type KeycloakAuthResult = OAuthAuthenticatorResult<KeycloakOidcProfile>;

/** Which session an authenticator result belongs to; never leaves the backend. */
export interface SessionBinding {
  handle: string;
  entityRef?: string;
  /** Created by this request's login (not an existing session being refreshed) */
  created: boolean;
}

/**
 * Per-request hand-offs between the route guards and the authenticator,
 * kept off the objects that user-supplied resolvers and transforms see.
 */
export class RequestBindings {
  readonly pendingLogins = new WeakMap<Request, LoginTransaction>();
  readonly resultSessions = new WeakMap<object, SessionBinding>();
}

interface AuthenticatorContext {
  options: KeycloakProviderOptions;
  client: KeycloakOidcClient;
}

export interface KeycloakAuthenticatorDeps {
  store: SessionStore;
  logger: LoggerService;
  bindings: RequestBindings;
  idleTtlSeconds: number;
  loginTtlSeconds: number;
  minAccessTokenValiditySeconds: number;
  appUrl: string;
  now?: () => number;
}

const LOCK_POLL_MS = 50;

function profileFrom(claims: KeycloakIdTokenClaims) {
  return {
    email: claims.email,
    displayName: claims.name ?? claims.preferred_username,
    picture: claims.picture,
  };
}

/**
 * The keycloak-oidc authenticator. Tokens stay in the session store; what it
 * returns as `session.refreshToken` (and so what Backstage puts in the
 * refresh cookie) is an opaque handle to them.
 */
export function createKeycloakAuthenticator(
  deps: KeycloakAuthenticatorDeps,
): OAuthAuthenticator<AuthenticatorContext, KeycloakOidcProfile> {
  const { store, logger, bindings } = deps;
  const now = deps.now ?? Date.now;

  function result(
    claims: KeycloakIdTokenClaims,
    binding: SessionBinding,
    tokens: {
      accessToken: string;
      tokenType: string;
      scope: string;
      idToken?: string;
      accessTokenExpiresAt?: number;
    },
  ): KeycloakAuthResult {
    const value: KeycloakAuthResult = {
      fullProfile: { claims },
      session: {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        scope: tokens.scope,
        idToken: tokens.idToken,
        expiresInSeconds:
          tokens.accessTokenExpiresAt !== undefined
            ? Math.max(
                0,
                Math.floor((tokens.accessTokenExpiresAt - now()) / 1000),
              )
            : undefined,
        refreshToken: binding.handle,
      },
    };
    bindings.resultSessions.set(value, binding);
    return value;
  }

  const isFresh = (record: SessionRecord) =>
    record.accessTokenExpiresAt !== undefined &&
    deps.minAccessTokenValiditySeconds > 0 &&
    record.accessTokenExpiresAt - now() >
      deps.minAccessTokenValiditySeconds * 1000;

  function resultFor(handle: string, session: StoredSession) {
    const { record, entityRef } = session;
    const claims = (
      record.idToken ? decodeJwt(record.idToken) : { sub: record.sub }
    ) as KeycloakIdTokenClaims;
    return result(claims, { handle, entityRef, created: false }, record);
  }

  async function refreshUnderLock(
    client: KeycloakOidcClient,
    handle: string,
    lockToken: string,
    seen: string,
    session: StoredSession | undefined,
  ): Promise<KeycloakAuthResult> {
    let done = false;
    try {
      if (!session) {
        throw new SessionEndedError(
          'Session not found or expired; sign in again',
        );
      }
      if (session.record.refreshToken !== seen) {
        return resultFor(handle, session); // rotated while we looked
      }
      const { record, entityRef } = session;

      let tokens;
      try {
        tokens = await client.refresh(record.refreshToken);
      } catch (error) {
        if (!(error instanceof KeycloakInvalidGrantError)) {
          throw error;
        }
        // Only a verdict on the token we used: if the session moved on
        // meanwhile (a lease ran out), use the newer token set.
        const current = await store.getSession(handle);
        if (current && current.record.refreshToken !== record.refreshToken) {
          return resultFor(handle, current);
        }
        await store.deleteSession(handle);
        logger.warn(
          `Keycloak ended the session of ${
            entityRef ?? `keycloak user ${record.sub}`
          }: invalid_grant "${
            error.description
          }"; deleted the server-side session and cleared its refresh cookie, the user has to sign in again`,
          {
            entityRef: entityRef ?? null,
            keycloakSub: record.sub,
            keycloakError: 'invalid_grant',
            keycloakErrorDescription: error.description,
          },
        );
        throw new SessionEndedError(
          `Keycloak session ended (${error.description}); sign in again`,
        );
      }

      const next = refreshedSessionRecord(record, tokens, now());
      const saved = await store.updateSession(
        handle,
        next,
        sessionTtlMs(next, deps.idleTtlSeconds, now()),
        lockToken,
      );
      done = true;
      if (!saved) {
        throw new SessionEndedError(
          'Session was signed out while refreshing; sign in again',
        );
      }
      const claims = (tokens.claims() ??
        (next.idToken
          ? decodeJwt(next.idToken)
          : { sub: next.sub })) as KeycloakIdTokenClaims;
      return result(claims, { handle, entityRef, created: false }, next);
    } finally {
      if (!done) {
        await store.releaseRefreshLock(handle, lockToken).catch(() => {});
      }
    }
  }

  return createOAuthAuthenticator<AuthenticatorContext, KeycloakOidcProfile>({
    defaultProfileTransform: async input => ({
      profile: profileFrom(input.fullProfile.claims),
    }),
    scopes: { required: ['openid', 'profile', 'email'] },

    initialize({ callbackUrl, config }) {
      const options = readProviderOptions(config, callbackUrl);
      return { options, client: new KeycloakOidcClient(options) };
    },

    async start(input, { client }) {
      const transaction: LoginTransaction = {
        codeVerifier: randomPKCECodeVerifier(),
        nonce: randomNonce(),
        createdAt: now(),
      };
      const url = await client.authorizationUrl({
        state: input.state,
        scope: input.scope,
        transaction,
      });
      await store.putLoginTransaction(
        input.state,
        transaction,
        deps.loginTtlSeconds * 1000,
      );
      return { url };
    },

    async authenticate({ req }, { client, options }) {
      const transaction = bindings.pendingLogins.get(req);
      bindings.pendingLogins.delete(req);
      const state = req.query.state;
      if (!transaction || typeof state !== 'string') {
        throw new InputError('No pending login for this callback');
      }
      const callbackQuery = new URL(
        req.originalUrl ?? req.url,
        'http://callback',
      ).search;
      const tokens = await client.exchangeCode({
        callbackQuery,
        state,
        transaction,
      });
      const record = newSessionRecord(tokens, now(), options.sessionDurationMs);
      const handle = createSessionHandle();
      await store.createSession(
        handle,
        record,
        sessionTtlMs(record, deps.idleTtlSeconds, now()),
      );
      return result(
        tokens.claims() as KeycloakIdTokenClaims,
        { handle, created: true },
        record,
      );
    },

    /**
     * Single-flight across all backend instances: Keycloak rotates refresh
     * tokens and (with "Revoke Refresh Token") ends the session when an old
     * one is reused, so concurrent refreshes of one session (tabs, replicas)
     * must not each call Keycloak. One holder of the session's Redis lock
     * refreshes; the others wait and use the token set it stored.
     */
    async refresh({ refreshToken: handle }, { client, options }) {
      assertWellFormedHandle(handle);
      const stored = await store.getSession(handle);
      if (!stored) {
        throw new SessionEndedError(
          'Session not found or expired; sign in again',
        );
      }
      if (isFresh(stored.record)) {
        return resultFor(handle, stored);
      }

      const seen = stored.record.refreshToken;
      const leaseMs = options.timeoutMs + 5000;
      const waitUntil = now() + leaseMs + 1000;
      for (;;) {
        const lock = await store.acquireRefreshLock(handle, leaseMs);
        if (lock) {
          return refreshUnderLock(
            client,
            handle,
            lock.token,
            seen,
            lock.session,
          );
        }
        // Another request (maybe on another replica) is refreshing: wait
        // for the token set it stores instead of calling Keycloak again.
        await new Promise(r => setTimeout(r, LOCK_POLL_MS));
        const current = await store.getSession(handle);
        if (!current) {
          throw new SessionEndedError(
            'Session not found or expired; sign in again',
          );
        }
        if (current.record.refreshToken !== seen) {
          return resultFor(handle, current);
        }
        if (now() > waitUntil) {
          throw new KeycloakUnavailableError(
            'Keycloak refresh of this session by another request did not finish in time',
          );
        }
      }
    },

    async logout({ refreshToken: handle }, { client, options }) {
      const postLogoutRedirectUrl =
        options.postLogoutRedirectUrl ?? deps.appUrl;
      const stored = isWellFormedHandle(handle)
        ? await store.getSession(handle!)
        : undefined;
      if (stored) {
        await store.deleteSession(handle!);
        const failure = await client.revokeRefreshToken(
          stored.record.refreshToken,
        );
        if (failure) {
          logger.info(
            `Keycloak refresh token revocation on sign-out skipped: ${failure}`,
          );
        }
      }
      const logoutUrl = await client
        .endSessionUrl({
          idToken: stored?.record.idToken,
          postLogoutRedirectUrl,
        })
        .catch(() => undefined);
      return logoutUrl ? { logoutUrl } : undefined;
    },
  });
}
