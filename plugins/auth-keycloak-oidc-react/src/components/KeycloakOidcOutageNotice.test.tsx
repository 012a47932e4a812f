import { SessionState } from '@backstage/frontend-plugin-api';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { act, screen } from '@testing-library/react';
import { fakeKeycloakApi } from '../__testUtils__/fakeKeycloakApi';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { KeycloakOidcOutageNotice } from './KeycloakOidcOutageNotice';

async function renderNotice(fake: ReturnType<typeof fakeKeycloakApi>) {
  await renderInTestApp(<KeycloakOidcOutageNotice />, {
    apis: [[keycloakOidcAuthApiRef, fake.api]],
  });
}

describe('KeycloakOidcOutageNotice', () => {
  it('tells a signed-in user what is down and that they stay signed in, and goes away by itself', async () => {
    const fake = fakeKeycloakApi();
    fake.setSessionState(SessionState.SignedIn);
    await renderNotice(fake);
    expect(screen.queryByRole('status')).toBeNull();

    act(() => fake.setUnavailable('session-store', 4));

    expect(await screen.findByRole('status')).toHaveTextContent(
      'The session store is unavailable. You stay signed in;',
    );
    expect(screen.getByTestId('keycloak-oidc-outage-notice')).toHaveTextContent(
      'The session store is unavailable. You stay signed in; next try in 4 s.',
    );
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();

    act(() => fake.setAvailable());
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('renders nothing for an API that reports no availability (an own OAuth2)', async () => {
    const fake = fakeKeycloakApi();
    fake.setSessionState(SessionState.SignedIn);
    const { getSessionAvailability, subscribeToSessionAvailability, ...plain } =
      fake.api;
    await renderInTestApp(<KeycloakOidcOutageNotice />, {
      apis: [[keycloakOidcAuthApiRef, plain as typeof fake.api]],
    });

    expect(screen.queryByTestId('keycloak-oidc-outage-notice')).toBeNull();
  });

  it('stays away before sign-in (the sign-in page says it there)', async () => {
    const fake = fakeKeycloakApi();
    fake.setUnavailable('keycloak');
    await renderNotice(fake);

    expect(screen.queryByRole('status')).toBeNull();
  });
});
