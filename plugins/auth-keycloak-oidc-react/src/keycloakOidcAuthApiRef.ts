import {
  createApiRef,
  type BackstageIdentityApi,
  type OAuthApi,
  type OpenIdConnectApi,
  type ProfileInfoApi,
  type SessionApi,
} from '@backstage/frontend-plugin-api';
import type { SessionAvailabilityApi } from './sessionAvailability/SessionAvailability';

/**
 * The keycloak-oidc auth API: Backstage's generic OAuth2 interfaces (the
 * Keycloak access token for Keycloak-protected APIs included), and
 * whether the session can be refreshed right now (an outage of Keycloak or
 * the session store keeps the session; the sign-in page and the outage
 * notice show it).
 *
 * @public
 */
export type KeycloakOidcAuthApi = OAuthApi &
  OpenIdConnectApi &
  ProfileInfoApi &
  BackstageIdentityApi &
  SessionApi &
  SessionAvailabilityApi;

/**
 * The keycloak-oidc provider as the frontend sees it, its backend routes
 * at /api/auth/keycloak-oidc.
 *
 * The id is the one the README's copy used, so apps moving from that copy
 * keep their references. Owned by the app plugin, like Backstage's own
 * `core.auth.*` refs: the API is provided by a module for `app`, and an
 * id prefix of `auth` would otherwise make the frontend system take it for
 * the auth plugin's. `@backstage/core-plugin-api` 1.13 re-exports these
 * ApiRef types and `createApiRef`, so the same ref serves legacy apps.
 *
 * @public
 */
export const keycloakOidcAuthApiRef = createApiRef<KeycloakOidcAuthApi>().with({
  id: 'auth.keycloak-oidc',
  pluginId: 'app',
});
