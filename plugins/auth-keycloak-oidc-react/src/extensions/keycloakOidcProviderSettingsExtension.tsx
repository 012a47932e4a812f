import {
  coreExtensionData,
  createExtension,
} from '@backstage/frontend-plugin-api';
import { KeycloakOidcProviderSettings } from '../KeycloakOidcProviderSettings';

/**
 * Keycloak under Settings → Authentication Providers
 * (`app/keycloak-oidc-provider-settings`), through the one seam
 * `@backstage/plugin-user-settings` offers there: its
 * `sub-page:user-settings/auth-providers` extension takes a single
 * (singleton) `providerSettings` element that replaces the default list.
 * Hence the whole list, Backstage's defaults included. Without the
 * user-settings plugin in the app this extension has no parent and is
 * left out.
 *
 * @public
 */
export const keycloakOidcProviderSettingsExtension = createExtension({
  name: 'keycloak-oidc-provider-settings',
  attachTo: {
    id: 'sub-page:user-settings/auth-providers',
    input: 'providerSettings',
  },
  output: [coreExtensionData.reactElement],
  factory: () => [
    coreExtensionData.reactElement(<KeycloakOidcProviderSettings />),
  ],
});
