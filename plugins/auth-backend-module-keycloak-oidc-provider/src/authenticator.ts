import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  createOAuthAuthenticator,
  type OAuthAuthenticator,
  type OAuthAuthenticatorResult,
} from '@backstage/plugin-auth-node';
import type { Request } from 'express';
import type { JWTPayload } from 'jose';
import { randomNonce, randomPKCECodeVerifier } from 'openid-client';
import {
  readProviderOptions,
  type KeycloakProviderOptions,
} from './config/readProviderOptions';
import { SessionMetrics } from './metrics/SessionMetrics';
import { logText } from './logging/logText';
import {
  recordRefreshFailure,
  recordRefreshSuccess,
} from './refresh/recordRefreshOutcome';
import { SessionRefresher } from './refresh/SessionRefresher';
import { profileClaimsOf, sessionClaims } from './oidc/sessionClaims';
import { KeycloakOidcClient } from './oidc/KeycloakOidcClient';
import { newSessionRecord } from './oidc/sessionRecordFromTokens';
import {
  assertWellFormedHandle,
  createSessionHandle,
  isWellFormedHandle,
} from './session/sessionHandle';
import { sessionTtlMs } from './session/sessionTtl';
import type { LoginTransaction, SessionStore } from './session/types';

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
  keycloakCheckIntervalSeconds: number;
  maxSessionsPerUser: number;
  appUrl: string;
  metrics?: SessionMetrics;
  now?: () => number;
}

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
  const metrics = deps.metrics ?? SessionMetrics.noop();

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

  const refresher = new SessionRefresher({
    store,
    logger,
    now,
    idleTtlSeconds: deps.idleTtlSeconds,
    minAccessTokenValiditySeconds: deps.minAccessTokenValiditySeconds,
    keycloakCheckIntervalSeconds: deps.keycloakCheckIntervalSeconds,
    onLockWait: ms => metrics.lockWait(ms),
  });

  /** Completes a login: code exchange, then a new session in the store. */
  async function authenticate(
    { req }: { req: Request },
    { client, options }: AuthenticatorContext,
  ): Promise<KeycloakAuthResult> {
    const transaction = bindings.pendingLogins.get(req);
    bindings.pendingLogins.delete(req);
    const state = req.query.state;
    if (!transaction || typeof state !== 'string') {
      throw new InputError('No pending login for this callback');
    }
    const callbackQuery = new URL(req.originalUrl ?? req.url, 'http://callback')
      .search;
    const tokens = await client.exchangeCode({
      callbackQuery,
      state,
      transaction,
    });
    const idTokenClaims: JWTPayload = tokens.claims() ?? {};
    // without a subject there is no session; newSessionRecord refuses it
    const userinfo = idTokenClaims.sub
      ? await client.userInfo(tokens.access_token, idTokenClaims.sub)
      : undefined;
    const record = newSessionRecord(
      tokens,
      profileClaimsOf(idTokenClaims, userinfo),
      now(),
      options.sessionDurationMs,
    );
    const handle = createSessionHandle(record.sub);
    const { evicted } = await store.createSession(
      handle,
      record,
      sessionTtlMs(record, deps.idleTtlSeconds, now()),
      {
        metadata: { userAgent: req.get('user-agent') },
        maxSessionsPerUser: deps.maxSessionsPerUser,
      },
    );
    if (evicted > 0) {
      logger.info(
        `Signed out ${evicted} older session(s) of keycloak user ${logText(record.sub)}: more than maxSessionsPerUser (${deps.maxSessionsPerUser})`,
        { keycloakSub: record.sub, evictedSessions: evicted },
      );
    }
    return result(
      sessionClaims(record, idTokenClaims) as KeycloakIdTokenClaims,
      { handle, created: true },
      record,
    );
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

    async authenticate(input, context) {
      try {
        return await authenticate(input, context);
      } catch (error) {
        metrics.login('error');
        throw error;
      }
    },

    async refresh({ refreshToken: handle }, { client, options }) {
      let outcome;
      try {
        assertWellFormedHandle(handle);
        outcome = await refresher.refresh(handle, client, {
          lockLeaseMs: options.timeoutMs + 5000,
        });
      } catch (error) {
        recordRefreshFailure(metrics, error);
        throw error;
      }
      recordRefreshSuccess(metrics, outcome);
      const { record, entityRef } = outcome.session;
      return result(
        sessionClaims(record, outcome.claims) as KeycloakIdTokenClaims,
        { handle, entityRef, created: false },
        record,
      );
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
