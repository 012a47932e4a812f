import type { SignInProviderConfig } from '@backstage/core-components';
import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';
import { keycloakOidcProvider } from './keycloakOidcProvider';

/**
 * Keycloak as a `SignInPage` provider, for a legacy app's
 * `<SignInPage providers={[...]} />` or an own sign-in page.
 *
 * @public
 */
export const keycloakOidcSignInProvider: SignInProviderConfig = {
  id: keycloakOidcProvider.id,
  title: keycloakOidcProvider.title,
  message: 'Sign in with your Keycloak account',
  apiRef: keycloakOidcAuthApiRef,
};
