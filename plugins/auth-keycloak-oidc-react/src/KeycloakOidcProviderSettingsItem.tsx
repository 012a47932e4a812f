import { ProviderSettingsItem } from '@backstage/plugin-user-settings';
import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';
import { keycloakOidcProvider } from './keycloakOidcProvider';

/**
 * Keycloak's row under Settings → Authentication Providers: the signed-in
 * profile and a sign-in/sign-out button. Its sign-out ends the Keycloak
 * session too (the backend module answers /logout with the end-session
 * URL). Renders a list item, so it goes inside the providers list.
 *
 * @public
 */
export function KeycloakOidcProviderSettingsItem() {
  return (
    <ProviderSettingsItem
      title={keycloakOidcProvider.title}
      description="Your Backstage sign-in through Keycloak"
      icon={keycloakOidcProvider.icon}
      apiRef={keycloakOidcAuthApiRef}
    />
  );
}
