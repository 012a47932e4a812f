import { freePort, RedisServer } from '@redis-session/test-support';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { loginUntilCallback, refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

/** What a browser sends when it navigates (the popup, the redirect flow). */
const NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
};
const START = `/start?env=development&flow=redirect&redirectUrl=${encodeURIComponent('http://localhost:3000/')}`;

/** The callback the IdP sent `browser` to, requested as a navigation. */
function callbackAsNavigation(
  browser: Browser,
  callbackUrl: string,
  authUrl: string,
) {
  const target = new URL(
    `${authUrl}/handler/frame${new URL(callbackUrl).search}`,
  );
  return browser.request(target.href, { headers: NAVIGATION });
}

/**
 * The outage page: 503 HTML with Retry-After, naming the dependency, and
 * none of the client's own words.
 */
async function expectOutagePage(res: Response, headline: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('retry-after')).toBe('5');
  const body = await res.text();
  expect(body).toContain(headline);
  expect(body).toContain(
    'Your session is kept; try signing in again in a moment.',
  );
  for (const internal of [
    '{"error"',
    'enableOfflineQueue',
    "Stream isn't writeable",
    'ECONNREFUSED',
    'fetch failed',
    'Session store (Redis) unavailable',
    'Keycloak token endpoint',
    'discovery at',
    '    at ',
  ]) {
    expect(body).not.toContain(internal);
  }
}

describe('the sign-in popup during an outage', () => {
  describe('of Redis', () => {
    let idp: DevIdp;
    let redisServer: RedisServer;
    let backend: KeycloakTestBackend;

    beforeAll(async () => {
      [idp, redisServer] = await Promise.all([
        DevIdp.start(),
        RedisServer.start(),
      ]);
      backend = await startKeycloakTestBackend({
        issuer: idp.issuer,
        session: {
          store: 'redis',
          redis: {
            url: redisServer.url,
            prefix: 'test:session:',
            connectTimeout: 1000,
            commandTimeout: 1000,
          },
        },
      });
    });

    afterAll(async () => {
      await backend?.stop();
      await redisServer?.dispose();
      await idp?.stop();
    });

    it('/start and the callback show the page; /refresh keeps its JSON 503', async () => {
      const signedIn = new Browser();
      await signIn(signedIn, backend.authUrl, 'alice');
      const midLogin = new Browser();
      const callbackUrl = await loginUntilCallback(
        midLogin,
        backend.authUrl,
        'bob',
      );
      await redisServer.stop();
      try {
        await expectOutagePage(
          await fetch(`${backend.authUrl}${START}`, {
            headers: NAVIGATION,
            redirect: 'manual',
          }),
          'The session store is unavailable',
        );
        await expectOutagePage(
          await callbackAsNavigation(midLogin, callbackUrl, backend.authUrl),
          'The session store is unavailable',
        );

        // programs keep the JSON answer naming the failure
        const xhr = await refresh(signedIn, backend.authUrl);
        expect(xhr.status).toBe(503);
        expect(xhr.headers.get('content-type')).toMatch(/^application\/json/);
        const body = await xhr.json();
        expect(body.error.message).toMatch(
          /^Session store \(Redis\) unavailable while reading the session/,
        );
        // what the frontend's outage notice names, without parsing messages
        expect(body.error).toMatchObject({
          name: 'ServiceUnavailableError',
          dependency: 'session-store',
        });

        // the full cause is in the log, at warn
        expect(
          backend.logger.lines.filter(
            l =>
              l.level === 'warn' &&
              /outage page: Session store \(Redis\) unavailable while (saving the login transaction|reading the login transaction)/.test(
                l.message,
              ),
          ),
        ).toHaveLength(2);
      } finally {
        await redisServer.start();
      }
    });
  });

  describe('of Keycloak', () => {
    it('/start shows the page while discovery cannot reach Keycloak', async () => {
      const deadIssuer = `http://localhost:${await freePort()}/realms/backstage`;
      const backend = await startKeycloakTestBackend({ issuer: deadIssuer });
      try {
        await expectOutagePage(
          await fetch(`${backend.authUrl}${START}`, {
            headers: NAVIGATION,
            redirect: 'manual',
          }),
          'Keycloak is unreachable',
        );
        expect(
          backend.logger.lines.some(
            l =>
              l.level === 'warn' &&
              l.message.includes(
                `outage page: Keycloak discovery at ${deadIssuer} failed`,
              ),
          ),
        ).toBe(true);
      } finally {
        await backend.stop();
      }
    });

    it('/start shows the page when Keycloak stopped after discovery, and stores no pending login', async () => {
      const idp = await DevIdp.start();
      const redisServer = await RedisServer.start();
      const redis = redisServer.client();
      const backend = await startKeycloakTestBackend({
        issuer: idp.issuer,
        redisUrl: redisServer.url,
      });
      try {
        // discovery done and cached by a sign-in
        await signIn(new Browser(), backend.authUrl, 'alice');
        const keysBefore = (await redis.keys('*')).sort();
        await idp.stop();
        // past the moment the sign-in's own check is trusted for
        await new Promise(resolve => setTimeout(resolve, 2_100));

        await expectOutagePage(
          await fetch(`${backend.authUrl}${START}`, {
            headers: NAVIGATION,
            redirect: 'manual',
          }),
          'Keycloak is unreachable',
        );
        expect((await redis.keys('*')).sort()).toEqual(keysBefore);
        expect(
          backend.logger.lines.some(
            l =>
              l.level === 'warn' &&
              /\/start answered the keycloak outage page: Keycloak at .* cannot be reached to start a sign-in: .*ECONNREFUSED/.test(
                l.message,
              ),
          ),
        ).toBe(true);

        // and a sign-in goes through once it is back
        await idp.start();
        const browser = new Browser();
        await signIn(browser, backend.authUrl, 'alice');
        expect((await refresh(browser, backend.authUrl)).status).toBe(200);
      } finally {
        await backend.stop();
        redis.disconnect();
        await redisServer.dispose();
        await idp.stop();
      }
    });

    it('the callback shows the page when the token exchange cannot reach Keycloak', async () => {
      const idp = await DevIdp.start();
      const redisServer = await RedisServer.start();
      const backend = await startKeycloakTestBackend({
        issuer: idp.issuer,
        redisUrl: redisServer.url,
      });
      try {
        const browser = new Browser();
        const callbackUrl = await loginUntilCallback(
          browser,
          backend.authUrl,
          'alice',
        );
        await idp.stop(); // after the backend read its metadata
        await expectOutagePage(
          await callbackAsNavigation(browser, callbackUrl, backend.authUrl),
          'Keycloak is unreachable',
        );
        expect(
          backend.logger.lines.some(
            l =>
              l.level === 'warn' &&
              /sign-in callback answered the keycloak outage page: Keycloak/.test(
                l.message,
              ),
          ),
        ).toBe(true);
      } finally {
        await backend.stop();
        await redisServer.dispose();
        await idp.stop();
      }
    });
  });
});
