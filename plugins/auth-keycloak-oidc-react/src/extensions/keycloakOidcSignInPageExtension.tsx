import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { KeycloakOidcSignInPage } from '../components/KeycloakOidcSignInPage';

/**
 * The sign-in page (`sign-in-page:app`): Keycloak as the one provider,
 * tried silently from the session cookie on every load, so a reload (or a
 * backend restart) never shows the button while the Redis session is
 * alive, and a dead one (401 after a Keycloak restart) just leaves the
 * button there, without an error; an outage shows what is down instead
 * (KeycloakOidcSignInPage). No `auto`: that would open the login popup
 * without a click, which browsers block.
 *
 * @public
 */
export const keycloakOidcSignInPageExtension = SignInPageBlueprint.make({
  params: {
    loader: async () => props => <KeycloakOidcSignInPage {...props} />,
  },
});
