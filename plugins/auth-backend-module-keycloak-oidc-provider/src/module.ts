import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { metricsServiceRef } from '@backstage/backend-plugin-api/alpha';
import { authProvidersExtensionPoint } from '@backstage/plugin-auth-node';
import { SessionAdminAccess } from './admin/SessionAdminAccess';
import { sessionAdminRouter } from './admin/sessionAdminRouter';
import { createBackchannelLogoutRouter } from './backchannel/backchannelLogoutRouter';
import { logoutTokenVerifiersFromConfig } from './backchannel/logoutTokenVerifiersFromConfig';
import { readSessionStoreOptions } from './config/readSessionStoreOptions';
import { SessionMetrics } from './metrics/SessionMetrics';
import { createKeycloakProviderFactory } from './providerFactory';
import { openSessionStore } from './session/openSessionStore';

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
        const metrics = new SessionMetrics(metricsService);
        const store = await openSessionStore(sessionOptions, logger, metrics);
        const stopObserving = metrics.observeActiveSessions(() =>
          store.countSessions(),
        );
        lifecycle.addShutdownHook(async () => {
          stopObserving();
          await store.close();
        });
        // Served by the auth plugin's router, ahead of its provider routes
        // (whose auth policy already lets unauthenticated requests in).
        httpRouter.use(
          createBackchannelLogoutRouter({
            verifier: logoutTokenVerifiersFromConfig(config, store),
            deleteSessionsOf: owner => store.deleteSessionsOf(owner),
            logger,
            metrics,
          }),
        );
        httpRouter.use(
          sessionAdminRouter({
            store,
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
            store,
            sessionOptions,
            logger,
            metrics,
          }),
        });
      },
    });
  },
});
