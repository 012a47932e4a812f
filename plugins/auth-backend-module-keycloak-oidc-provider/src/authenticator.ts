import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  createOAuthAuthenticator,
  type AuthResolverContext,
  type BackstageSignInResult,
  type CookieConfigurer,
  type OAuthAuthenticator,
  type SignInResolver,
} from '@backstage/plugin-auth-node';
import type { Request } from 'express';
import type { JWTPayload } from 'jose';
import {
  authResultOf,
  profileOf,
  type KeycloakEnvironment,
  type KeycloakAuthResult,
  type KeycloakIdTokenClaims,
  type KeycloakOidcProfile,
  type SessionAuthResult,
} from './authResult';
import {
  enforceInProduction,
  providerProblems,
} from './config/productionPolicy';
import { readProviderOptions } from './config/readProviderOptions';
import type { SessionStoreOptions } from './config/readSessionStoreOptions';
import { SessionEndedError } from './errors';
import { logText } from './logging/logText';
import { SessionMetrics } from './metrics/SessionMetrics';
import { KeycloakOidcClient } from './oidc/KeycloakOidcClient';
import { bindingOf, isBoundTo } from './oidc/sessionBinding';
import { profileClaimsOf, sessionClaims } from './oidc/sessionClaims';
import { newSessionRecord } from './oidc/sessionRecordFromTokens';
import {
  recordRefreshFailure,
  recordRefreshSuccess,
} from './refresh/recordRefreshOutcome';
import {
  refreshLockLeaseMs,
  SessionRefresher,
} from './refresh/SessionRefresher';
import { clearRefreshCookie, loginCookieName } from './routes/providerCookies';
import {
  assertWellFormedHandle,
  isWellFormedHandle,
} from './session/sessionHandle';
import { sessionTtlMs } from './session/sessionTtl';
import type { SessionRecord, SessionStore } from './session/types';
import { isSameBrowser } from './signIn/browserBinding';
import { endReplacedSession } from './signIn/endReplacedSession';
import { identityOf, isReusable } from './signIn/resolvedIdentity';
import { startLogin } from './signIn/startLogin';

export interface KeycloakAuthenticatorDeps {
  store: SessionStore;
  logger: LoggerService;
  session: Pick<
    SessionStoreOptions,
    | 'ttlSeconds'
    | 'loginTtlSeconds'
    | 'maxPendingLogins'
    | 'dangerouslyAllowInsecureProduction'
    | 'minAccessTokenValiditySeconds'
    | 'keycloakCheckIntervalSeconds'
    | 'identityCacheSeconds'
    | 'maxSessionsPerUser'
  >;
  /**
   * The environment's sign-in resolver and its context: a refresh that
   * calls Keycloak resolves the user before it stores the new tokens, so
   * the identity goes into the same write.
   */
  signIn?: {
    resolver: SignInResolver<KeycloakAuthResult>;
    context: AuthResolverContext;
  };
  /** The provider factory's context: where the refresh cookie lives */
  provider: {
    providerId: string;
    baseUrl: string;
    appUrl: string;
    cookieConfigurer?: CookieConfigurer;
  };
  /** Told about each auth environment once its config is read */
  onEnvironment?: (environment: KeycloakEnvironment) => void;
  metrics?: SessionMetrics;
  now?: () => number;
}

/**
 * The keycloak-oidc authenticator. Tokens stay in the session store; what it
 * returns as `session.refreshToken` (and so what Backstage puts in the
 * refresh cookie) is an opaque handle to them.
 */
export function createKeycloakAuthenticator(
  deps: KeycloakAuthenticatorDeps,
): OAuthAuthenticator<KeycloakEnvironment, KeycloakOidcProfile> {
  const { store, logger, session: sessionOptions } = deps;
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? SessionMetrics.noop();

  const result = (
    claims: KeycloakIdTokenClaims,
    handle: string,
    sessionSignIn: SessionAuthResult['sessionSignIn'],
    record: SessionRecord,
  ) => authResultOf(claims, handle, sessionSignIn, record, now());

  const refresher = new SessionRefresher({
    store,
    logger,
    now,
    idleTtlSeconds: sessionOptions.ttlSeconds,
    minAccessTokenValiditySeconds: sessionOptions.minAccessTokenValiditySeconds,
    keycloakCheckIntervalSeconds: sessionOptions.keycloakCheckIntervalSeconds,
    onLockWait: ms => metrics.lockWait(ms),
  });

  /** Completes a login: code exchange, then a new session in the store. */
  async function authenticate(
    { req }: { req: Request },
    { client, options, binding }: KeycloakEnvironment,
  ): Promise<SessionAuthResult> {
    const state = req.query.state;
    // single use: taken here, after upstream checked the nonce cookie
    const transaction =
      typeof state === 'string'
        ? await store.takeLoginTransaction(state)
        : undefined;
    if (!transaction || typeof state !== 'string') {
      throw new InputError(
        'Unknown, expired or already used sign-in state; start the sign-in again',
      );
    }
    // the route guard checked it already; this keeps the rule where the
    // transaction is used, whoever calls the authenticator
    const cookie = req.cookies?.[loginCookieName(deps.provider.providerId)];
    if (!isSameBrowser(cookie, transaction.browserBinding)) {
      throw new NotAllowedError(
        'The sign-in callback does not come from the browser that started it',
      );
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
      binding,
    );
    const { handle, evicted } = await store.createSession(
      record,
      sessionTtlMs(record, sessionOptions.ttlSeconds, now()),
      {
        metadata: { userAgent: req.get('user-agent') },
        maxSessionsPerUser: sessionOptions.maxSessionsPerUser,
      },
    );
    if (evicted > 0) {
      logger.info(
        `Signed out ${evicted} older session(s) of keycloak user ${logText(record.sub)}: more than maxSessionsPerUser (${sessionOptions.maxSessionsPerUser})`,
        { keycloakSub: record.sub, evictedSessions: evicted },
      );
    }
    return result(
      sessionClaims(record, idTokenClaims) as KeycloakIdTokenClaims,
      handle,
      {
        isNew: true,
        endReplacedSession: () =>
          endReplacedSession(
            { req, handle },
            { store, logger, providerId: deps.provider.providerId, binding },
          ),
      },
      record,
    );
  }

  return createOAuthAuthenticator<KeycloakEnvironment, KeycloakOidcProfile>({
    defaultProfileTransform: async input => ({
      profile: profileOf(input.fullProfile.claims),
    }),
    scopes: { required: ['openid', 'profile', 'email'] },

    initialize({ callbackUrl, config }) {
      const options = readProviderOptions(config, callbackUrl);
      enforceInProduction(providerProblems(options), {
        allowInsecure: sessionOptions.dangerouslyAllowInsecureProduction,
        logger,
      });
      const environment = {
        options,
        client: new KeycloakOidcClient(options),
        binding: bindingOf(options),
      };
      deps.onEnvironment?.(environment);
      return environment;
    },

    start: (input, environment) =>
      startLogin(input, environment, {
        store,
        session: sessionOptions,
        provider: deps.provider,
        now,
      }),

    async authenticate(input, context) {
      try {
        return await authenticate(input, context);
      } catch (error) {
        metrics.login('error');
        throw error;
      }
    },

    async refresh({ req, refreshToken: handle }, context) {
      const signIn = deps.signIn;
      let signedIn: BackstageSignInResult | undefined;
      let outcome;
      try {
        assertWellFormedHandle(handle);
        outcome = await refresher.refresh(handle, context.client, {
          lockLeaseMs: refreshLockLeaseMs(context.options.timeoutMs),
          answerWithinMs: context.options.timeoutMs,
          binding: context.binding,
          resolveIdentity:
            signIn &&
            (async (record, claims) => {
              const resolving = result(
                sessionClaims(record, claims) as KeycloakIdTokenClaims,
                handle,
                { isNew: false },
                record,
              );
              signedIn = await signIn.resolver(
                {
                  profile: profileOf(resolving.fullProfile.claims),
                  result: resolving,
                },
                signIn.context,
              );
              return identityOf(signedIn, now());
            }),
        });
      } catch (error) {
        recordRefreshFailure(metrics, error);
        if (error instanceof SessionEndedError && req.res) {
          // the cookie is useless from now on; upstream clears it only on
          // logout, so clear it here where the callback URL is known
          clearRefreshCookie(req, req.res, {
            ...deps.provider,
            callbackUrl: context.options.callbackUrl,
          });
        }
        throw error;
      }
      recordRefreshSuccess(metrics, outcome);
      const { record, entityRef, identity } = outcome.session;
      return result(
        sessionClaims(record, outcome.claims) as KeycloakIdTokenClaims,
        handle,
        outcome.source === 'keycloak'
          ? // resolved afresh, or (failed) to be resolved by the request
            { isNew: false, entityRef, ...(identity && { signedIn }) }
          : {
              isNew: false,
              entityRef,
              ...(isReusable(
                identity,
                now(),
                sessionOptions.identityCacheSeconds,
              ) && { identity }),
            },
        record,
      );
    },

    async logout({ refreshToken: handle }, { client, options, binding }) {
      const postLogoutRedirectUrl =
        options.postLogoutRedirectUrl ?? deps.provider.appUrl;
      const found = isWellFormedHandle(handle)
        ? await store.getSession(handle!)
        : undefined;
      // another deployment's session is not ours to sign out
      const stored =
        found && isBoundTo(found.record, binding) ? found : undefined;
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
