import type { LoggerService } from '@backstage/backend-plugin-api';
import {
  commonSignInResolvers,
  createOAuthRouteHandlers,
  OAuthEnvironmentHandler,
  readDeclarativeSignInResolver,
  type AuthProviderFactory,
  type SignInResolverFactory,
} from '@backstage/plugin-auth-node';
import { createKeycloakAuthenticator } from './authenticator';
import type { KeycloakAuthResult, KeycloakEnvironment } from './authResult';
import type { SessionStoreOptions } from './config/readSessionStoreOptions';
import type { SessionMetrics } from './metrics/SessionMetrics';
import { keycloakSignInResolvers } from './resolvers';
import {
  guardCallbackAuthenticator,
  guardRouteHandlers,
} from './routes/guardRouteHandlers';
import type { SessionStore } from './session/types';
import { completeSessionSignIn } from './signIn/completeSessionSignIn';

const signInResolverFactories: Record<
  string,
  SignInResolverFactory<KeycloakAuthResult, any>
> = { ...commonSignInResolvers, ...keycloakSignInResolvers };

/**
 * The `keycloak-oidc` provider: Backstage's OAuth route handlers on our
 * authenticator, one set per auth environment, behind our route guards.
 *
 * This is plugin-auth-node's `createOAuthProviderFactory`
 * (src/oauth/createOAuthProviderFactory.ts) with two additions it has no
 * seam for: the resolver it reads from config is wrapped as a whole (a
 * wrapper per resolver factory would act on each `NotFoundError` the
 * resolver chain skips) and also given to the authenticator (which
 * resolves a refreshed session's user before storing its tokens), and the
 * route handlers are guarded.
 */
export function createKeycloakProviderFactory(deps: {
  store: SessionStore;
  sessionOptions: SessionStoreOptions;
  logger: LoggerService;
  metrics: SessionMetrics;
  onEnvironment?: (environment: KeycloakEnvironment) => void;
}): AuthProviderFactory {
  const { store, logger, metrics } = deps;
  return ctx =>
    OAuthEnvironmentHandler.mapConfig(ctx.config, envConfig => {
      const resolver = readDeclarativeSignInResolver<KeycloakAuthResult>({
        config: envConfig,
        signInResolverFactories,
      });
      // one per environment: a refresh that calls Keycloak runs the
      // environment's resolver before it stores the tokens
      const authenticator = guardCallbackAuthenticator(
        createKeycloakAuthenticator({
          store,
          logger,
          metrics,
          session: deps.sessionOptions,
          provider: ctx,
          onEnvironment: deps.onEnvironment,
          signIn: resolver && { resolver, context: ctx.resolverContext },
        }),
        logger,
      );
      const handlers = createOAuthRouteHandlers<any>({
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
          completeSessionSignIn(resolver, {
            store,
            logger,
            metrics,
            identityCacheSeconds: deps.sessionOptions.identityCacheSeconds,
          }),
      });
      return guardRouteHandlers(handlers, {
        providerId: ctx.providerId,
        store,
        appUrl: ctx.appUrl,
        isOriginAllowed: ctx.isOriginAllowed,
        logger,
      });
    });
}
