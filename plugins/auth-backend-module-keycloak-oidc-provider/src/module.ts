import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { authProvidersExtensionPoint } from '@backstage/plugin-auth-node';
import { readSessionStoreOptions } from './config/readSessionStoreOptions';
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
      },
      async init({ providers, config, logger, lifecycle }) {
        const sessionOptions = readSessionStoreOptions(config);
        const store = await openSessionStore(sessionOptions, logger);
        lifecycle.addShutdownHook(() => store.close());
        providers.registerProvider({
          providerId: 'keycloak-oidc',
          factory: createKeycloakProviderFactory({
            store,
            sessionOptions,
            logger,
          }),
        });
      },
    });
  },
});
