import { KeycloakIcon } from './KeycloakIcon';

/**
 * The provider as the frontend names it: the id is the backend module's
 * (`auth.providers.keycloak-oidc`), the title and icon are what the
 * OAuth consent dialog, the sign-in page and Settings show.
 */
export const keycloakOidcProvider = {
  id: 'keycloak-oidc',
  title: 'Keycloak',
  icon: KeycloakIcon,
};
