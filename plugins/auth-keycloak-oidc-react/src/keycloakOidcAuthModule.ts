import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { keycloakOidcAuthApiExtension } from './extensions/keycloakOidcAuthApiExtension';
import { keycloakOidcOutageNoticeExtension } from './extensions/keycloakOidcOutageNoticeExtension';
import { keycloakOidcProviderSettingsExtension } from './extensions/keycloakOidcProviderSettingsExtension';
import { keycloakOidcSignInPageExtension } from './extensions/keycloakOidcSignInPageExtension';

/**
 * Everything an app on the new frontend system needs for Keycloak sign-in:
 * the auth API, the sign-in page, the Settings entry and the outage
 * notice, as a module of
 * the app plugin (sign-in pages and app-wide auth APIs belong to `app`).
 *
 * @public
 */
export const keycloakOidcAuthModule = createFrontendModule({
  pluginId: 'app',
  extensions: [
    keycloakOidcAuthApiExtension,
    keycloakOidcSignInPageExtension,
    keycloakOidcProviderSettingsExtension,
    keycloakOidcOutageNoticeExtension,
  ],
});
