import { OAuth2 } from '@backstage/core-app-api';
import {
  ApiBlueprint,
  configApiRef,
  discoveryApiRef,
  oauthRequestApiRef,
} from '@backstage/frontend-plugin-api';
import {
  KEYCLOAK_PROVIDER,
  keycloakOidcAuthApiRef,
} from './keycloakOidcAuthApiRef';

export const keycloakOidcAuthApi = ApiBlueprint.make({
  name: 'keycloak-oidc',
  params: defineParams =>
    defineParams({
      api: keycloakOidcAuthApiRef,
      deps: {
        configApi: configApiRef,
        discoveryApi: discoveryApiRef,
        oauthRequestApi: oauthRequestApiRef,
      },
      factory: ({ configApi, discoveryApi, oauthRequestApi }) =>
        OAuth2.create({
          configApi,
          discoveryApi,
          oauthRequestApi,
          provider: KEYCLOAK_PROVIDER,
          environment: configApi.getOptionalString('auth.environment'),
          defaultScopes: ['openid', 'profile', 'email'],
        }),
    }),
});
