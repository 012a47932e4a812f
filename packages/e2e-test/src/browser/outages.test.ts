import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { RedisServer } from '@redis-session/test-support';
import { appBackendConfig } from '../fixtures/appBackendConfig';
import { AppSession, withScreenshots } from '../fixtures/AppSession';
import { BackendProcess } from '../fixtures/BackendProcess';
import { assertAppBuilt } from '../fixtures/builtApp';
import { launchChromium } from '../fixtures/Chromium';
import { DevIdp } from '../fixtures/DevIdp';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

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
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: BackendProcess;
  let browser: Browser;
  const sessions: AppSession[] = [];

  const idpOrigin = () => new URL(idp.issuer).origin;
  const sessionKeys = async () =>
    (await redis.keys(sessionKeyPattern(PREFIX))).sort();

  async function openSignedIn() {
    const session = await AppSession.open(browser, backend.url);
    sessions.push(session);
    expect(await session.goto()).toBe('sign-in');
    await session.signIn('alice');
    return session;
  }

  /** A browser with no session, on the sign-in card */
  async function openSignedOut() {
    const session = await AppSession.open(browser, backend.url);
    sessions.push(session);
    expect(await session.goto()).toBe('sign-in');
    return session;
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

  async function expectReadableOutagePage(popup: Page, headline: string) {
    await popup.getByRole('heading', { name: headline }).waitFor();
    const text = await popup.locator('body').innerText();
    expect(text).toContain(
      'Your session is kept; try signing in again in a moment.',
    );
    const html = await popup.content();
    for (const internal of ['{"error"', 'enableOfflineQueue', 'ECONNREFUSED']) {
      expect(html).not.toContain(internal);
    }
  }

  beforeAll(async () => {
    assertAppBuilt();
    [idp, redisServer, browser] = await Promise.all([
      DevIdp.start(['--access-token-ttl', '60'], { proxied: true }),
      RedisServer.start({ persistent: true }),
      launchChromium(),
    ]);
    redis = redisServer.client();
    backend = await BackendProcess.create(listenPort =>
      appBackendConfig({
        publicUrl: `http://localhost:${listenPort}`,
        listenPort,
        redisUrl: redisServer.url,
        prefix: PREFIX,
        issuer: idp.issuer,
      }),
    );
    await backend.start();
    await backend.waitForCatalogUser('alice');
  });

  let redisDown = false;
  async function stopRedis() {
    redisDown = true;
    await redisServer.stop();
  }
  async function startRedis() {
    await redisServer.start();
    redisDown = false;
  }

  afterEach(async () => {
    // whatever a failed test left down comes back for the next one
    await idp?.reconnect();
    if (redisDown) await startRedis();
  });

  afterAll(async () => {
    await Promise.all(sessions.map(s => s.close()));
    await browser?.close();
    await backend?.dispose();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it(
    'Keycloak unreachable at a reload: the page says so instead of offering a sign-in, keeps the session, and signs in by itself when Keycloak is back',
    withScreenshots(async () => {
      const session = await openSignedIn();
      const cookie = (await session.refreshCookie())!.value;
      const keys = await sessionKeys();

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
      expect(await sessionKeys()).toEqual(keys);
      await session.readmeScreenshot('outage-on-load');

      const mark = session.requests.length;
      await idp.reconnect();
      await session.userEntityRef.waitFor({ timeout: BACK_WITHIN_MS });

      // no click, no popup, no Keycloak login form: the same session
      expect(session.context.pages()).toHaveLength(1);
      expect(session.requestsTo(idpOrigin(), mark)).toEqual([]);
      expect((await session.refreshCookie())?.value).toBe(cookie);
      expect(await sessionKeys()).toEqual(keys);
      expect(await session.text('user-entity-ref')).toBe('user:default/alice');
      expect(await session.alerts()).toEqual([]);
    }),
  );

  it(
    'the session store down at a reload: the page names it, and signs in by itself once Redis is back with its AOF',
    withScreenshots(async () => {
      const session = await openSignedIn();
      const cookie = (await session.refreshCookie())!.value;
      const keys = await sessionKeys();

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
      expect(await sessionKeys()).toEqual(keys);
      expect(await session.alerts()).toEqual([]);
    }),
  );

  it(
    'Keycloak unreachable mid-session: a notice instead of "Login Required", the app keeps working, and the notice goes by itself',
    withScreenshots(async () => {
      const session = await openSignedIn();
      const keys = await sessionKeys();

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
      expect(await sessionKeys()).toEqual(keys);
      expect(session.context.pages()).toHaveLength(1);
    }),
  );

  it(
    'the sign-in popup during a Keycloak outage is a readable page',
    withScreenshots(async () => {
      const session = await openSignedOut();
      await idp.cutOff();

      const popup = await signInPopup(session);

      await expectReadableOutagePage(popup, 'Keycloak is unreachable');
    }),
  );

  it(
    'the sign-in popup during a session store outage is a readable page',
    withScreenshots(async () => {
      const session = await openSignedOut();
      await stopRedis();

      const popup = await signInPopup(session);

      await expectReadableOutagePage(popup, 'The session store is unavailable');
    }),
  );
});
