import { OAuth2 } from '@backstage/core-app-api';
import type {
  ConfigApi,
  DiscoveryApi,
  OAuthRequestApi,
} from '@backstage/frontend-plugin-api';
import { keycloakOidcProvider } from './keycloakOidcProvider';

/**
 * The one implementation behind both systems' factories, so the new
 * frontend system's ApiBlueprint and the legacy createApiFactory cannot
 * drift apart.
 */
export function createKeycloakOidcAuth(deps: {
  configApi: ConfigApi;
  discoveryApi: DiscoveryApi;
  oauthRequestApi: OAuthRequestApi;
}) {
  const { configApi, discoveryApi, oauthRequestApi } = deps;
  return OAuth2.create({
    configApi,
    discoveryApi,
    oauthRequestApi,
    provider: keycloakOidcProvider,
    // the backend module reads auth.providers.keycloak-oidc.<environment>
    environment: configApi.getOptionalString('auth.environment'),
    defaultScopes: ['openid', 'profile', 'email'],
  });
}
