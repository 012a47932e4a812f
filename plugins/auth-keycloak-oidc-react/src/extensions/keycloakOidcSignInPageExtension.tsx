import { SignInPage } from '@backstage/core-components';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { keycloakOidcSignInProvider } from '../keycloakOidcSignInProvider';

/**
 * The sign-in page (`sign-in-page:app`) with one provider: on every load
 * the page first asks the backend to refresh the session from its cookie,
 * so a reload (or a backend restart) never shows the button while the
 * Redis session is alive, and a dead one (401 after a Keycloak restart)
 * just leaves the button there, without an error. No `auto`: that would
 * open the login popup without a click, which browsers block.
 *
 * @public
 */
export const keycloakOidcSignInPageExtension = SignInPageBlueprint.make({
  params: {
    loader: async () => props => (
      <SignInPage {...props} provider={keycloakOidcSignInProvider} />
    ),
  },
});
