import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { keycloakOidcAuthApi } from './keycloakOidcAuthApi';
import { keycloakSignInPage } from './keycloakSignInPage';

export { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';

/** Installs the keycloak-oidc auth API and sign-in page into the app plugin. */
export const keycloakAuthModule = createFrontendModule({
  pluginId: 'app',
  extensions: [keycloakOidcAuthApi, keycloakSignInPage],
});
