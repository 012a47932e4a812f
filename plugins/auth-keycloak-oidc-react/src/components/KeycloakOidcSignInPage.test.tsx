import { renderInTestApp } from '@backstage/frontend-test-utils';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import {
  aliceIdentity,
  fakeKeycloakApi,
} from '../__testUtils__/fakeKeycloakApi';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { KeycloakOidcSignInPage } from './KeycloakOidcSignInPage';

async function renderSignInPage(
  api: ReturnType<typeof fakeKeycloakApi>['api'],
) {
  const onSignInSuccess = jest.fn();
  await renderInTestApp(
    <KeycloakOidcSignInPage onSignInSuccess={onSignInSuccess} />,
    {
      apis: [[keycloakOidcAuthApiRef, api]],
      config: { app: { title: 'Test app', baseUrl: 'http://localhost:3000' } },
    },
  );
  return onSignInSuccess;
}

describe('KeycloakOidcSignInPage', () => {
  it.each([
    ['keycloak', 'Keycloak is unreachable'],
    ['session-store', 'The session store is unavailable'],
    ['backstage', 'Backstage cannot be reached'],
  ] as const)(
    'during a %s outage shows what is down instead of the sign-in card',
    async (dependency, headline) => {
      const fake = fakeKeycloakApi();
      fake.setUnavailable(dependency, 8);
      await renderSignInPage(fake.api);

      expect(await screen.findByText(headline)).toBeInTheDocument();
      expect(screen.getByText(/Your session is kept/)).toBeInTheDocument();
      expect(screen.getByText('Next try in 8 s.')).toBeInTheDocument();
      expect(screen.getByRole('status')).toHaveAttribute(
        'data-dependency',
        dependency,
      );
      expect(screen.queryByRole('button', { name: /sign in/i })).toBeNull();
      expect(screen.queryByText(/error|fail/i)).toBeNull();
    },
  );

  it('signs the user in by itself, without a click, once the outage ends', async () => {
    const fake = fakeKeycloakApi();
    // the load's silent sign-in meets the outage
    fake.api.getBackstageIdentity.mockImplementationOnce(async () => {
      fake.setUnavailable('keycloak');
      return undefined;
    });
    const onSignInSuccess = await renderSignInPage(fake.api);
    expect(await screen.findByText('Keycloak is unreachable')).toBeVisible();
    expect(onSignInSuccess).not.toHaveBeenCalled();

    fake.api.getBackstageIdentity.mockResolvedValue(aliceIdentity);
    act(() => fake.setAvailable());

    await waitFor(() => expect(onSignInSuccess).toHaveBeenCalledTimes(1));
    expect(onSignInSuccess.mock.calls[0][0].getUserId()).toBe('alice');
    expect(fake.api.getBackstageIdentity).toHaveBeenLastCalledWith({
      optional: true,
    });
  });

  it('shows the sign-in card when the session ended (the outage is over, no session)', async () => {
    const fake = fakeKeycloakApi();
    fake.setUnavailable('keycloak');
    await renderSignInPage(fake.api);
    await screen.findByText('Keycloak is unreachable');

    act(() => fake.setAvailable());

    expect(
      await screen.findByRole('button', { name: /sign in/i }),
    ).toBeVisible();
    expect(screen.queryByText('Keycloak is unreachable')).toBeNull();
  });

  it('"Try now" retries at once', async () => {
    const fake = fakeKeycloakApi();
    fake.setUnavailable('session-store');
    await renderSignInPage(fake.api);

    fireEvent.click(await screen.findByRole('button', { name: 'Try now' }));

    expect(fake.api.retrySessionNow).toHaveBeenCalledTimes(1);
  });
});
