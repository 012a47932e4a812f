import type {
  ConfigApi,
  DiscoveryApi,
  OAuthRequestApi,
} from '@backstage/frontend-plugin-api';
import { KeycloakOidcAuthConnector } from './connector/KeycloakOidcAuthConnector';
import { KeycloakOidcAuth } from './KeycloakOidcAuth';
import type { KeycloakOidcAuthApi } from './keycloakOidcAuthApiRef';
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
}): KeycloakOidcAuthApi {
  const { configApi, discoveryApi, oauthRequestApi } = deps;
  const connector = new KeycloakOidcAuthConnector({
    discoveryApi,
    oauthRequestApi,
    provider: keycloakOidcProvider,
    // the backend module reads auth.providers.keycloak-oidc.<environment>
    environment:
      configApi.getOptionalString('auth.environment') ?? 'development',
    redirectFlow:
      configApi.getOptionalBoolean('enableExperimentalRedirectFlow') ?? false,
  });
  return new KeycloakOidcAuth(connector, ['openid', 'profile', 'email']);
}
