import type { Page } from 'playwright-core';
import { withScreenshots, type AppSession } from '../fixtures/AppSession';
import { DevIdp } from '../fixtures/DevIdp';
import { OneBackendApp } from '../fixtures/OneBackendApp';

jest.setTimeout(180_000);

const PREFIX = 'browser:outage:';
/** Longer than the frontend's retry backoff at its longest (30 s ± 20%) */
const BACK_WITHIN_MS = 45_000;

/**
 * What a user sees while Keycloak or the session store is down, in the
 * built app in Chromium against one example backend, the dev IdP behind a
 * TCP proxy (cut off, it is unreachable but keeps its sessions, like a
 * Keycloak with persistent sessions that was stopped) and redis-server
 * with its AOF. The IdP's access tokens last 60 s, so every use of the
 * session is past the frontend's refresh point (3 minutes before expiry).
 */
describe('the app in a browser during an outage', () => {
  let idp: DevIdp;
  let app: OneBackendApp;
  let redisDown = false;

  const idpOrigin = () => new URL(idp.issuer).origin;

  async function stopRedis() {
    redisDown = true;
    await app.redisServer.stop();
  }

  async function startRedis() {
    await app.redisServer.start();
    redisDown = false;
  }

  /** The sign-in popup that a click on "Sign in" opens, once it loaded */
  async function signInPopup(session: AppSession): Promise<Page> {
    const [popup] = await Promise.all([
      session.context.waitForEvent('page', { timeout: 30_000 }),
      session.signInButton.click(),
    ]);
    await popup.waitForLoadState('domcontentloaded');
    return popup;
  }

  beforeAll(async () => {
    idp = await DevIdp.start(['--access-token-ttl', '60'], { proxied: true });
    app = await OneBackendApp.start({
      issuer: idp.issuer,
      prefix: PREFIX,
      persistentRedis: true,
    });
  });

  afterEach(async () => {
    // whatever a failed test left down comes back for the next one
    await idp?.reconnect();
    if (redisDown) await startRedis();
  });

  afterAll(async () => {
    await app?.dispose();
    await idp?.stop();
  });

  it(
    'Keycloak unreachable at a reload: the page says so instead of offering a sign-in, keeps the session, and signs in by itself when Keycloak is back',
    withScreenshots(async () => {
      const session = await app.openSignedIn();
      const cookie = (await session.refreshCookie())!.value;
      const keys = await app.sessionKeys();

      await idp.cutOff();
      expect(await session.reload()).toBe('outage');

      expect(await session.outagePage.getAttribute('data-dependency')).toBe(
        'keycloak',
      );
      const notice = await session.outagePage.innerText();
      expect(notice).toContain('Keycloak is unreachable');
      expect(notice).toContain('Your session is kept.');
      expect(await session.signInButton.count()).toBe(0);
      expect(await session.alerts()).toEqual([]);
      expect((await session.refreshCookie())?.value).toBe(cookie);
      expect(await app.sessionKeys()).toEqual(keys);
      await session.readmeScreenshot('outage-on-load');

      const mark = session.requests.length;
      await idp.reconnect();
      await session.userEntityRef.waitFor({ timeout: BACK_WITHIN_MS });

      // no click, no popup, no Keycloak login form: the same session
      expect(session.context.pages()).toHaveLength(1);
      expect(session.requestsTo(idpOrigin(), mark)).toEqual([]);
      expect((await session.refreshCookie())?.value).toBe(cookie);
      expect(await app.sessionKeys()).toEqual(keys);
      expect(await session.text('user-entity-ref')).toBe('user:default/alice');
      expect(await session.alerts()).toEqual([]);
    }),
  );

  it(
    'the session store down at a reload: the page names it, and signs in by itself once Redis is back with its AOF',
    withScreenshots(async () => {
      const session = await app.openSignedIn();
      const cookie = (await session.refreshCookie())!.value;
      const keys = await app.sessionKeys();

      await stopRedis();
      expect(await session.reload()).toBe('outage');

      expect(await session.outagePage.getAttribute('data-dependency')).toBe(
        'session-store',
      );
      expect(await session.outagePage.innerText()).toContain(
        'The session store is unavailable',
      );
      expect(await session.signInButton.count()).toBe(0);
      expect(await session.alerts()).toEqual([]);

      const mark = session.requests.length;
      await startRedis();
      await session.userEntityRef.waitFor({ timeout: BACK_WITHIN_MS });

      expect(session.context.pages()).toHaveLength(1);
      expect(session.requestsTo(idpOrigin(), mark)).toEqual([]);
      expect((await session.refreshCookie())?.value).toBe(cookie);
      expect(await app.sessionKeys()).toEqual(keys);
      expect(await session.alerts()).toEqual([]);
    }),
  );

  it(
    'Keycloak unreachable mid-session: a notice instead of "Login Required", the app keeps working, and the notice goes by itself',
    withScreenshots(async () => {
      const session = await app.openSignedIn();
      const keys = await app.sessionKeys();

      await idp.cutOff();
      // the page reads the session again: a refresh, past its refresh point
      await session.page.getByRole('button', { name: 'Check again' }).click();
      await session.outageNotice.waitFor({ timeout: 30_000 });
      await session.page.waitForLoadState('networkidle');

      expect(await session.outageNotice.getAttribute('data-dependency')).toBe(
        'keycloak',
      );
      expect(await session.outageNotice.innerText()).toMatch(
        /Keycloak is unreachable\. You stay signed in; next try (in \d+ s|now)\./,
      );
      // no dialog; still signed in, and the catalog still answers the
      // Backstage token the app has
      expect(await session.alerts()).toEqual([]);
      expect(await session.text('user-entity-ref')).toBe('user:default/alice');
      expect(await session.attribute('catalog-entity', 'data-status')).toBe(
        '200',
      );
      await session.readmeScreenshot('outage-mid-session');

      await idp.reconnect();
      await session.outageNotice.waitFor({
        state: 'detached',
        timeout: BACK_WITHIN_MS,
      });
      await session.page.getByRole('button', { name: 'Check again' }).click();
      await session.page.waitForLoadState('networkidle');
      expect(await session.alerts()).toEqual([]);
      expect(await session.text('user-entity-ref')).toBe('user:default/alice');
      // no second session: the user never signed in again
      expect(await app.sessionKeys()).toEqual(keys);
      expect(session.context.pages()).toHaveLength(1);
    }),
  );

  it.each([
    ['Keycloak', 'Keycloak is unreachable', () => idp.cutOff()],
    ['session store', 'The session store is unavailable', () => stopRedis()],
  ])(
    'the sign-in popup during a %s outage is a readable page',
    (_, headline, stop) =>
      withScreenshots(async () => {
        const session = await app.openSignedOut();
        await stop();

        const popup = await signInPopup(session);

        await popup.getByRole('heading', { name: headline }).waitFor();
        expect(await popup.locator('body').innerText()).toContain(
          'Your session is kept; try signing in again in a moment.',
        );
        const html = await popup.content();
        for (const internal of [
          '{"error"',
          'enableOfflineQueue',
          'ECONNREFUSED',
        ]) {
          expect(html).not.toContain(internal);
        }
      })(),
  );
});
