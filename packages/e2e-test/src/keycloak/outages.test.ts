import { withScreenshots } from '../fixtures/AppSession';
import type { KeycloakRealm } from '../fixtures/KeycloakRealm';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import { OneBackendApp } from '../fixtures/OneBackendApp';

jest.setTimeout(300_000);

/** Longer than the frontend's retry backoff at its longest (30 s ± 20%) */
const BACK_WITHIN_MS = 45_000;

/**
 * Real Keycloak stopped while a user has the app open, and started again:
 * with Keycloak 26's persistent user sessions it keeps the session, so the
 * user must come back without a Keycloak login. Needs the app build.
 */
describe('the app in a browser while real Keycloak is stopped', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let app: OneBackendApp;

  beforeAll(async () => {
    keycloak = await KeycloakServer.start();
    realm = await keycloak.createRealm('backstage');
    app = await OneBackendApp.start({
      issuer: realm.issuer,
      prefix: 'browser:kc-outage:',
    });
  });

  afterAll(async () => {
    await app?.dispose();
    await keycloak?.dispose();
  });

  it(
    'a reload shows "Keycloak is unreachable" instead of the sign-in card, and the user is back without a Keycloak login once it runs again',
    withScreenshots(async () => {
      const session = await app.openSignedIn();
      const cookie = (await session.refreshCookie())!.value;
      const keys = await app.sessionKeys();

      await keycloak.stop();
      expect(await session.reload()).toBe('outage');
      expect(await session.outagePage.getAttribute('data-dependency')).toBe(
        'keycloak',
      );
      expect(await session.outagePage.innerText()).toContain(
        'Keycloak is unreachable',
      );
      expect(await session.signInButton.count()).toBe(0);
      expect(await session.alerts()).toEqual([]);

      const mark = session.requests.length;
      await keycloak.start();
      await session.userEntityRef.waitFor({ timeout: BACK_WITHIN_MS });

      expect(await session.text('user-entity-ref')).toBe('user:default/alice');
      expect(session.context.pages()).toHaveLength(1);
      expect(session.requestsTo(keycloak.url, mark)).toEqual([]);
      expect((await session.refreshCookie())?.value).toBe(cookie);
      expect(await app.sessionKeys()).toEqual(keys);
      expect(await session.alerts()).toEqual([]);
    }),
  );
});
