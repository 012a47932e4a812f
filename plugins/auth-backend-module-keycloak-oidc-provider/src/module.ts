import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { metricsServiceRef } from '@backstage/backend-plugin-api/alpha';
import { authProvidersExtensionPoint } from '@backstage/plugin-auth-node';
import { SessionAdminAccess } from './admin/SessionAdminAccess';
import { sessionAdminRouter } from './admin/sessionAdminRouter';
import { createBackchannelLogoutRouter } from './backchannel/backchannelLogoutRouter';
import { logoutTokenVerifierFor } from './backchannel/logoutTokenVerifierFor';
import type { RoutableLogoutTokenVerifier } from './backchannel/selectLogoutTokenVerifier';
import {
  enforceInProduction,
  sessionStoreProblems,
} from './config/productionPolicy';
import { readSessionStoreOptions } from './config/readSessionStoreOptions';
import { SessionMetrics } from './metrics/SessionMetrics';
import { createKeycloakProviderFactory } from './providerFactory';
import { openSessionStorage } from './session/openSessionStorage';

/**
 * Registers the `keycloak-oidc` auth provider with server-side sessions.
 *
 * @public
 */
export const authModuleKeycloakOidcProvider = createBackendModule({
  pluginId: 'auth',
  moduleId: 'keycloak-oidc-provider',
  register(reg) {
    reg.registerInit({
      deps: {
        providers: authProvidersExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        lifecycle: coreServices.lifecycle,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        userInfo: coreServices.userInfo,
        metricsService: metricsServiceRef,
      },
      async init({
        providers,
        config,
        logger,
        lifecycle,
        httpRouter,
        httpAuth,
        userInfo,
        metricsService,
      }) {
        const sessionOptions = readSessionStoreOptions(config);
        enforceInProduction(sessionStoreProblems(sessionOptions), {
          allowInsecure: sessionOptions.dangerouslyAllowInsecureProduction,
          logger,
        });
        const metrics = new SessionMetrics(metricsService);
        const storage = await openSessionStorage(
          sessionOptions,
          logger,
          metrics,
        );
        const stopObserving = metrics.observeActiveSessions(() =>
          storage.queries.countSessions(),
        );
        lifecycle.addShutdownHook(async () => {
          stopObserving();
          await storage.close();
        });
        // one per auth environment, added as the provider reads its config
        const logoutTokenVerifiers: RoutableLogoutTokenVerifier[] = [];
        // Served by the auth plugin's router, ahead of its provider routes
        // (whose auth policy already lets unauthenticated requests in).
        httpRouter.use(
          createBackchannelLogoutRouter({
            verifier: logoutTokenVerifiers,
            deleteSessionsOf: owner => storage.queries.deleteSessionsOf(owner),
            logger,
            metrics,
          }),
        );
        httpRouter.use(
          sessionAdminRouter({
            store: storage.queries,
            logger,
            access: new SessionAdminAccess({
              httpAuth,
              userInfo,
              allow: sessionOptions.adminPrincipals,
            }),
          }),
        );
        providers.registerProvider({
          providerId: 'keycloak-oidc',
          factory: createKeycloakProviderFactory({
            store: storage.sessions,
            sessionOptions,
            logger,
            metrics,
            onEnvironment: environment =>
              logoutTokenVerifiers.push(
                logoutTokenVerifierFor(environment, storage.logoutTokens),
              ),
          }),
        });
      },
    });
  },
});
