import type { LoggerService } from '@backstage/backend-plugin-api';
import {
  commonSignInResolvers,
  createOAuthRouteHandlers,
  OAuthEnvironmentHandler,
  readDeclarativeSignInResolver,
  type AuthProviderFactory,
  type AuthProviderRouteHandlers,
  type SignInResolver,
  type SignInResolverFactory,
} from '@backstage/plugin-auth-node';
import { decodeJwt } from 'jose';
import {
  createKeycloakAuthenticator,
  RequestBindings,
  type KeycloakAuthResult,
} from './authenticator';
import type { SessionStoreOptions } from './config/readSessionStoreOptions';
import type { SessionMetrics } from './metrics/SessionMetrics';
import { keycloakSignInResolvers } from './resolvers';
import { clearRefreshCookie } from './routes/refreshCookie';
import { guardRouteHandlers } from './routes/guardRouteHandlers';
import type { SessionStore } from './session/types';

const signInResolverFactories: Record<
  string,
  SignInResolverFactory<KeycloakAuthResult, any>
> = { ...commonSignInResolvers, ...keycloakSignInResolvers };

/**
 * Remembers which user entity a session signed in as, the first time a
 * resolver answers for it, so later log lines (such as the invalid_grant
 * warning) can name the user without another catalog lookup. A login whose
 * user cannot be resolved leaves no session behind.
 */
function recordEntityRef(
  resolver: SignInResolver<KeycloakAuthResult>,
  bindings: RequestBindings,
  store: SessionStore,
  logger: LoggerService,
  metrics: SessionMetrics,
): SignInResolver<KeycloakAuthResult> {
  return async (info, ctx) => {
    const session = bindings.resultSessions.get(info.result);
    let signIn;
    try {
      signIn = await resolver(info, ctx);
    } catch (error) {
      if (session?.created) {
        metrics.login('refused');
        await store.deleteSession(session.handle).catch(() => {});
      }
      throw error;
    }
    if (session?.created) {
      metrics.login('ok');
    }
    const entityRef = decodeJwt(signIn.token).sub;
    if (session && entityRef && session.entityRef !== entityRef) {
      await store
        .setEntityRef(session.handle, entityRef)
        .catch(error =>
          logger.warn(`Could not record the session user: ${error.message}`),
        );
    }
    return signIn;
  };
}

/**
 * The `keycloak-oidc` provider: Backstage's OAuth route handlers on our
 * authenticator, one set per auth environment, behind our route guards.
 */
export function createKeycloakProviderFactory(deps: {
  store: SessionStore;
  sessionOptions: SessionStoreOptions;
  logger: LoggerService;
  metrics: SessionMetrics;
}): AuthProviderFactory {
  const { store, logger, metrics } = deps;
  return ctx => {
    const bindings = new RequestBindings();
    const authenticator = createKeycloakAuthenticator({
      store,
      logger,
      bindings,
      idleTtlSeconds: deps.sessionOptions.ttlSeconds,
      loginTtlSeconds: deps.sessionOptions.loginTtlSeconds,
      minAccessTokenValiditySeconds:
        deps.sessionOptions.minAccessTokenValiditySeconds,
      keycloakCheckIntervalSeconds:
        deps.sessionOptions.keycloakCheckIntervalSeconds,
      maxSessionsPerUser: deps.sessionOptions.maxSessionsPerUser,
      metrics,
      appUrl: ctx.appUrl,
    });
    const handlers = new Map<string, AuthProviderRouteHandlers>();
    for (const env of ctx.config.keys()) {
      const envConfig = ctx.config.getConfig(env);
      const resolver = readDeclarativeSignInResolver<KeycloakAuthResult>({
        config: envConfig,
        signInResolverFactories,
      });
      const callbackUrl =
        envConfig.getOptionalString('callbackUrl') ??
        `${ctx.baseUrl}/${ctx.providerId}/handler/frame`;
      const routeHandlers = createOAuthRouteHandlers<any>({
        authenticator,
        appUrl: ctx.appUrl,
        baseUrl: ctx.baseUrl,
        config: envConfig,
        isOriginAllowed: ctx.isOriginAllowed,
        cookieConfigurer: ctx.cookieConfigurer,
        providerId: ctx.providerId,
        resolverContext: ctx.resolverContext,
        signInResolver:
          resolver &&
          recordEntityRef(resolver, bindings, store, logger, metrics),
      });
      handlers.set(
        env,
        guardRouteHandlers(routeHandlers, {
          providerId: ctx.providerId,
          store,
          bindings,
          appUrl: ctx.appUrl,
          isOriginAllowed: ctx.isOriginAllowed,
          clearRefreshCookie: (req, res) =>
            clearRefreshCookie(req, res, {
              providerId: ctx.providerId,
              baseUrl: ctx.baseUrl,
              callbackUrl,
              appOrigin: new URL(ctx.appUrl).origin,
              cookieConfigurer: ctx.cookieConfigurer,
            }),
        }),
      );
    }
    return new OAuthEnvironmentHandler(handlers);
  };
}
