import {
  coreApis,
  githubAuthApiRef,
  SessionState,
  type ProfileInfo,
} from '@backstage/frontend-plugin-api';
import { renderTestApp } from '@backstage/frontend-test-utils';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import { screen } from '@testing-library/react';
import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';
import { keycloakOidcAuthModule } from './keycloakOidcAuthModule';

const AVAILABLE = { status: 'available' } as const;

/** An auth API as Settings uses it: a session state and a profile */
function authSession(state: SessionState, profile?: ProfileInfo) {
  return {
    sessionState$: () => ({
      subscribe: (next: (s: SessionState) => void) => {
        next(state);
        return { unsubscribe: () => {}, closed: false };
      },
    }),
    getProfile: async () => profile,
    getSessionAvailability: () => AVAILABLE,
    subscribeToSessionAvailability: () => () => {},
    retrySessionNow: () => {},
  } as unknown as typeof keycloakOidcAuthApiRef.T;
}

const signedInKeycloak = authSession(SessionState.SignedIn, {
  displayName: 'Alice Adams',
  email: 'alice@example.com',
});

/**
 * The app with the module and the user-settings plugin, on Settings →
 * Authentication Providers. The sign-in page is switched off by config (as
 * an app can): a test app with a sign-in page waits for a sign-in.
 */
function renderSettings(options: { withGithub?: boolean } = {}) {
  return renderTestApp({
    features: [keycloakOidcAuthModule, userSettingsPlugin],
    apis: [
      [keycloakOidcAuthApiRef, signedInKeycloak],
      [githubAuthApiRef, authSession(SessionState.SignedOut)],
    ],
    config: {
      app: {
        baseUrl: 'http://localhost:3000',
        extensions: [{ 'sign-in-page:app': false }],
      },
      ...(options.withGithub && {
        auth: { providers: { github: {}, 'keycloak-oidc': {} } },
      }),
    },
    initialRouteEntries: ['/settings/auth-providers'],
  });
}

describe('keycloakOidcAuthModule', () => {
  it('adds the auth API, the sign-in page, the outage notice and the Settings entry to the app plugin', async () => {
    const { apis } = renderSettings();
    const { tree } = apis.get(coreApis.appTree)!.getTree();

    expect(tree.nodes.get('api:app/keycloak-oidc')?.instance).toBeDefined();
    expect(tree.nodes.get('sign-in-page:app')?.spec).toMatchObject({
      plugin: { pluginId: 'app' },
      attachTo: { id: 'app/root', input: 'signInPage' },
    });
    expect(
      tree.nodes.get('app-root-element:app/keycloak-oidc-outage-notice')
        ?.instance,
    ).toBeDefined();
    const settings = tree.nodes.get('app/keycloak-oidc-provider-settings');
    expect(settings?.instance).toBeDefined();
    expect(settings?.edges.attachedTo).toMatchObject({
      node: { spec: { id: 'sub-page:user-settings/auth-providers' } },
      input: 'providerSettings',
    });
  });

  it('lists Keycloak under Settings → Authentication Providers, with the signed-in profile', async () => {
    renderSettings();

    expect(await screen.findByText('Keycloak')).toBeInTheDocument();
    expect(await screen.findByText('Alice Adams')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeVisible();
  });

  it("keeps Backstage's entries for the other configured providers", async () => {
    renderSettings({ withGithub: true });

    expect(await screen.findByText('Keycloak')).toBeInTheDocument();
    expect(screen.getByText('GitHub')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeVisible();
  });
});
