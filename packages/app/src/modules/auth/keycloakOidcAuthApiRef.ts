import {
  createApiRef,
  type BackstageIdentityApi,
  type OpenIdConnectApi,
  type ProfileInfoApi,
  type SessionApi,
} from '@backstage/frontend-plugin-api';

/**
 * The keycloak-oidc provider as seen by the frontend: a generic OAuth2 API
 * whose backend routes live at /api/auth/keycloak-oidc.
 */
export const keycloakOidcAuthApiRef = createApiRef<
  OpenIdConnectApi & ProfileInfoApi & BackstageIdentityApi & SessionApi
>({ id: 'auth.keycloak-oidc' });

export const KEYCLOAK_PROVIDER = {
  id: 'keycloak-oidc',
  title: 'Keycloak',
  icon: () => null,
};
