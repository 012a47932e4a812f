import { coreApis, useApi } from '@backstage/frontend-plugin-api';
import { DefaultProviderSettings } from '@backstage/plugin-user-settings';
import { KeycloakOidcProviderSettingsItem } from './KeycloakOidcProviderSettingsItem';

/**
 * The whole providers list for Settings → Authentication Providers:
 * Backstage's own entries for the providers configured under
 * `auth.providers` (GitHub, Google, ...), then Keycloak. A `providerSettings`
 * element replaces the settings page's default list rather than adding to
 * it, so the defaults are kept here.
 *
 * @public
 */
export function KeycloakOidcProviderSettings() {
  const configApi = useApi(coreApis.config);
  const configuredProviders =
    configApi.getOptionalConfig('auth.providers')?.keys() ?? [];
  return (
    <>
      <DefaultProviderSettings configuredProviders={configuredProviders} />
      <KeycloakOidcProviderSettingsItem />
    </>
  );
}
