import { ApiBlueprint } from '@backstage/frontend-plugin-api';
import { keycloakOidcAuthApiFactory } from '../keycloakOidcAuthApiFactory';

/**
 * The keycloak-oidc auth API (`api:app/keycloak-oidc`): the same factory a
 * legacy app registers, so the two systems cannot drift apart.
 *
 * @public
 */
export const keycloakOidcAuthApiExtension = ApiBlueprint.make({
  name: 'keycloak-oidc',
  params: defineParams => defineParams(keycloakOidcAuthApiFactory),
});
