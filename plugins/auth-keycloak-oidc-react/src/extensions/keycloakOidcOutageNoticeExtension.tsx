import { AppRootElementBlueprint } from '@backstage/frontend-plugin-api';
import { KeycloakOidcOutageNotice } from '../components/KeycloakOidcOutageNotice';

/**
 * The outage notice (`app-root-element:app/keycloak-oidc-outage-notice`),
 * rendered at the app root like Backstage's alert display, so it shows on
 * every page.
 *
 * @public
 */
export const keycloakOidcOutageNoticeExtension = AppRootElementBlueprint.make({
  name: 'keycloak-oidc-outage-notice',
  params: { element: <KeycloakOidcOutageNotice /> },
});
