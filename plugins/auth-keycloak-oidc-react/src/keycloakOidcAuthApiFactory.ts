import { coreApis, createApiFactory } from '@backstage/frontend-plugin-api';
import { createKeycloakOidcAuth } from './createKeycloakOidcAuth';
import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';

/**
 * For a legacy app's `apis` (packages/app/src/apis.ts); the new frontend
 * system's module wraps this same factory in an ApiBlueprint.
 *
 * @public
 */
export const keycloakOidcAuthApiFactory = createApiFactory({
  api: keycloakOidcAuthApiRef,
  deps: {
    configApi: coreApis.config,
    discoveryApi: coreApis.discovery,
    oauthRequestApi: coreApis.internal.oauthRequest,
  },
  factory: createKeycloakOidcAuth,
});
