/* eslint-disable jest/no-export */
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { appBackendConfig } from '../__testUtils__/appBackendConfig';
import { AppSession, withScreenshots } from '../__testUtils__/AppSession';
import { BackendProcess } from '../__testUtils__/BackendProcess';
import { assertAppBuilt } from '../__testUtils__/builtApp';
import { launchChromium } from '../__testUtils__/Chromium';
import type { IdpUnderTest } from '../__testUtils__/IdpUnderTest';
import { RedisServer } from '../__testUtils__/RedisServer';
import { sessionKeyPattern } from '../__testUtils__/sessionKeyPattern';

const PREFIX = 'browser:session:';
const REFRESH_PATH = '/api/auth/keycloak-oidc/refresh';

/**
 * The built app in Chromium against one example backend process (serving
 * the app and the API on one origin), an IdP and redis-server: what a user
 * sees through sign-in, a backend restart, a Keycloak restart and sign-out.
 */
export function describeOneBackendStories(
  startIdp: () => Promise<IdpUnderTest>,
) {
  describe('the app in a browser, one backend', () => {
    let idp: IdpUnderTest;
    let redisServer: RedisServer;
    let redis: Redis;
    let backend: BackendProcess;
    let browser: Browser;
    const sessions: AppSession[] = [];

    const idpOrigin = () => new URL(idp.issuer).origin;
    const sessionKeys = () => redis.keys(sessionKeyPattern(PREFIX));

    async function openSignedIn() {
      const session = await AppSession.open(browser, backend.url);
      sessions.push(session);
      expect(await session.goto()).toBe('sign-in');
      await session.signIn('alice');
      return session;
    }

    beforeAll(async () => {
      assertAppBuilt();
      [idp, redisServer, browser] = await Promise.all([
        startIdp(),
        RedisServer.start(),
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

    afterAll(async () => {
      await Promise.all(sessions.map(s => s.close()));
      await browser?.close();
      await backend?.dispose();
      redis?.disconnect();
      await redisServer?.dispose();
      await idp?.stop();
    });

    it(
      `signs in through the IdP login page; the home page shows the user`,
      withScreenshots(async () => {
        const keysBefore = await sessionKeys();
        const session = await AppSession.open(browser, backend.url);
        sessions.push(session);

        expect(await session.goto()).toBe('sign-in');
        expect(await session.refreshCookie()).toBeUndefined();
        await session.readmeScreenshot('sign-in-page');

        const { loginFormShown } = await session.signIn('alice');
        expect(loginFormShown).toBe(true);
        expect(await session.text('user-entity-ref')).toBe(
          'user:default/alice',
        );
        await session.readmeScreenshot('signed-in-home-page');
        expect(await session.text('display-name')).toBe('Alice Adams');
        // the user's Backstage token works against the catalog
        expect(await session.attribute('catalog-entity', 'data-status')).toBe(
          '200',
        );

        // the cookie holds an opaque handle; the session itself is in Redis
        const cookie = await session.refreshCookie();
        expect(cookie).toMatchObject({ httpOnly: true });
        expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
        expect((await sessionKeys()).length).toBe(keysBefore.length + 1);
        expect(await session.alerts()).toEqual([]);
      }),
    );

    it(
      'a backend restart keeps the user signed in without a visit to the IdP',
      withScreenshots(async () => {
        const session = await openSignedIn();
        const tokenIssuedBefore = Number(
          await session.attribute('backstage-token-issued-at', 'data-epoch-ms'),
        );

        await backend.stop();
        await backend.start();
        await backend.waitForCatalogUser('alice');

        const mark = session.requests.length;
        expect(await session.reload()).toBe('home');
        expect(await session.text('user-entity-ref')).toBe(
          'user:default/alice',
        );
        expect(session.requestsTo(idpOrigin(), mark)).toEqual([]);
        expect(
          session.requestsTo(`${backend.url}${REFRESH_PATH}`, mark).length,
        ).toBeGreaterThan(0);
        // a token the new process issued, accepted by its catalog
        expect(
          Number(
            await session.attribute(
              'backstage-token-issued-at',
              'data-epoch-ms',
            ),
          ),
        ).toBeGreaterThan(tokenIssuedBefore);
        expect(await session.attribute('catalog-entity', 'data-status')).toBe(
          '200',
        );
        expect(session.context.pages()).toHaveLength(1);
        expect(await session.alerts()).toEqual([]);
      }),
    );

    it(
      'a Keycloak restart shows the sign-in page without an error, drops the cookie, and signing in again works',
      withScreenshots(async () => {
        const session = await openSignedIn();
        const keysBefore = await sessionKeys();

        await idp.restartLosingSessions();

        expect(await session.reload()).toBe('sign-in');
        expect(await session.alerts()).toEqual([]);
        expect(session.context.pages()).toHaveLength(1); // no popup opened
        expect(await session.refreshCookie()).toBeUndefined();
        // the dead session is gone from Redis; the others are untouched
        expect((await sessionKeys()).length).toBe(keysBefore.length - 1);

        const { loginFormShown } = await session.signIn('alice');
        expect(loginFormShown).toBe(true); // Keycloak forgot the old login
        expect(await session.text('user-entity-ref')).toBe(
          'user:default/alice',
        );
        expect(await session.refreshCookie()).toBeDefined();
        expect((await sessionKeys()).length).toBe(keysBefore.length);
      }),
    );

    it(
      "sign-out goes through Keycloak's end-session endpoint back to the sign-in page and deletes the Redis session",
      withScreenshots(async () => {
        const keysBefore = await sessionKeys();
        const session = await openSignedIn();
        const [ownKey] = (await sessionKeys()).filter(
          key => !keysBefore.includes(key),
        );
        expect(ownKey).toBeDefined();

        const mark = session.requests.length;
        // Listeners first: the whole round trip can be over before click()
        // returns. The app's own reload only counts after the end-session call.
        const endSessionUrl = `${idp.issuer}/protocol/openid-connect/logout`;
        let endSessionSeen = false;
        const endSession = session.page.waitForRequest(request => {
          endSessionSeen ||= request.url().startsWith(endSessionUrl);
          return endSessionSeen;
        });
        const backInApp = session.page.waitForEvent('framenavigated', {
          predicate: frame =>
            endSessionSeen &&
            frame === session.page.mainFrame() &&
            frame.url().startsWith(backend.url),
        });
        await session.page.getByTestId('sign-out').click();
        await endSession;
        await backInApp;
        expect(await session.settledView()).toBe('sign-in');

        const visited = session.requests.slice(mark);
        const endSessionAt = visited.findIndex(url =>
          url.startsWith(endSessionUrl),
        );
        expect(endSessionAt).toBeGreaterThanOrEqual(0);
        expect(visited[endSessionAt]).toContain('id_token_hint=');
        // ...and came back to the app afterwards
        expect(
          visited.slice(endSessionAt).some(url => url.startsWith(backend.url)),
        ).toBe(true);

        expect(await redis.exists(ownKey)).toBe(0);
        expect((await sessionKeys()).sort()).toEqual(keysBefore.sort());
        expect(await session.refreshCookie()).toBeUndefined();
        expect(await session.alerts()).toEqual([]);

        // Keycloak's session ended too: the next sign-in asks for credentials
        const { loginFormShown } = await session.signIn('alice');
        expect(loginFormShown).toBe(true);
      }),
    );
  });
}
