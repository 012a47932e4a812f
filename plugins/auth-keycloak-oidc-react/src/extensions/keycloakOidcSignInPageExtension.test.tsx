import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { screen, waitFor } from '@testing-library/react';
import { fakeKeycloakApi } from '../__testUtils__/fakeKeycloakApi';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { keycloakOidcSignInPageExtension } from './keycloakOidcSignInPageExtension';

describe('keycloakOidcSignInPageExtension', () => {
  it('tries the session cookie on load, without a popup, and offers Keycloak', async () => {
    const { api } = fakeKeycloakApi();
    const KeycloakSignInPage = createExtensionTester(
      keycloakOidcSignInPageExtension,
    ).get(SignInPageBlueprint.dataRefs.component);

    await renderInTestApp(<KeycloakSignInPage onSignInSuccess={jest.fn()} />, {
      apis: [[keycloakOidcAuthApiRef, api]],
      config: { app: { title: 'Test app', baseUrl: 'http://localhost:3000' } },
    });

    expect(await screen.findByText('Keycloak')).toBeInTheDocument();
    expect(
      screen.getByText('Sign in with your Keycloak account'),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /sign in/i })).toBeVisible();
    await waitFor(() =>
      expect(api.getBackstageIdentity).toHaveBeenCalledWith({
        optional: true,
      }),
    );
    expect(api.getBackstageIdentity).toHaveBeenCalledTimes(1);
  });
});
