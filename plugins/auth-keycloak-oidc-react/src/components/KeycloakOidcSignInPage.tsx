import { SignInPage } from '@backstage/core-components';
import { useApi, type IdentityApi } from '@backstage/frontend-plugin-api';
import type { ReactNode } from 'react';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { keycloakOidcSignInProvider } from '../keycloakOidcSignInProvider';
import { SignInOutagePage } from './SignInOutagePage';
import { useSessionAvailability } from './useSessionAvailability';

/**
 * Props of a Backstage sign-in page, in both frontend systems.
 *
 * @public
 */
export interface KeycloakOidcSignInPageProps {
  /** Called once, with the signed-in user's identity */
  onSignInSuccess(identityApi: IdentityApi): void;
  /** Rendered by the app's sign-in wrapper; unused here */
  children?: ReactNode;
}

/**
 * Backstage's sign-in page with Keycloak as its one provider. On load it
 * first refreshes the session from its cookie, so a user with a live
 * session never sees the button. While Keycloak or the session store is
 * down it shows what is down instead of the sign-in card (a user with a
 * session has not been signed out), and once a retry reaches the backend
 * it runs the silent sign-in again: the user is back without a click and,
 * when Keycloak kept its session, without a new Keycloak login.
 *
 * For a legacy app: `components: { SignInPage: KeycloakOidcSignInPage }`.
 *
 * @public
 */
export function KeycloakOidcSignInPage(props: KeycloakOidcSignInPageProps) {
  const api = useApi(keycloakOidcAuthApiRef);
  const availability = useSessionAvailability(api);

  // Backstage's SignInPage tries the session silently when it mounts, so
  // mounting it again after the outage page is the automatic sign-in
  if (availability.status === 'unavailable') {
    return (
      <SignInOutagePage
        dependency={availability.dependency}
        nextRetryAt={availability.nextRetryAt}
        onRetry={() => api.retrySessionNow()}
      />
    );
  }
  return <SignInPage {...props} provider={keycloakOidcSignInProvider} />;
}
