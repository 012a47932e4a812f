import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { screen, waitFor } from '@testing-library/react';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { keycloakOidcSignInPageExtension } from './keycloakOidcSignInPageExtension';

describe('keycloakOidcSignInPageExtension', () => {
  it('tries the session cookie on load, without a popup, and offers Keycloak', async () => {
    const keycloak = {
      getBackstageIdentity: jest.fn(async () => undefined),
      getProfile: jest.fn(async () => undefined),
    };
    const KeycloakSignInPage = createExtensionTester(
      keycloakOidcSignInPageExtension,
    ).get(SignInPageBlueprint.dataRefs.component);

    await renderInTestApp(<KeycloakSignInPage onSignInSuccess={jest.fn()} />, {
      apis: [[keycloakOidcAuthApiRef, keycloak]],
      config: { app: { title: 'Test app', baseUrl: 'http://localhost:3000' } },
    });

    expect(await screen.findByText('Keycloak')).toBeInTheDocument();
    expect(
      screen.getByText('Sign in with your Keycloak account'),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /sign in/i })).toBeVisible();
    await waitFor(() =>
      expect(keycloak.getBackstageIdentity).toHaveBeenCalledWith({
        optional: true,
      }),
    );
    expect(keycloak.getBackstageIdentity).toHaveBeenCalledTimes(1);
  });
});
