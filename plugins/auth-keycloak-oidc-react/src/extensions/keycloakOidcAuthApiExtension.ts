import { ApiBlueprint, coreApis } from '@backstage/frontend-plugin-api';
import { createKeycloakOidcAuth } from '../createKeycloakOidcAuth';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';

/**
 * The keycloak-oidc auth API (`api:app/keycloak-oidc`).
 *
 * @public
 */
export const keycloakOidcAuthApiExtension = ApiBlueprint.make({
  name: 'keycloak-oidc',
  params: defineParams =>
    defineParams({
      api: keycloakOidcAuthApiRef,
      deps: {
        configApi: coreApis.config,
        discoveryApi: coreApis.discovery,
        oauthRequestApi: coreApis.internal.oauthRequest,
      },
      factory: createKeycloakOidcAuth,
    }),
});
