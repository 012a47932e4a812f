import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { RedisServer } from '@redis-session/test-support';
import { appBackendConfig } from '../fixtures/appBackendConfig';
import { AppSession, withScreenshots } from '../fixtures/AppSession';
import { BackendProcess } from '../fixtures/BackendProcess';
import { assertAppBuilt } from '../fixtures/builtApp';
import { launchChromium } from '../fixtures/Chromium';
import type { KeycloakRealm } from '../fixtures/KeycloakRealm';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(300_000);

const PREFIX = 'browser:kc-outage:';
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
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: BackendProcess;
  let browser: Browser;
  const sessions: AppSession[] = [];

  beforeAll(async () => {
    assertAppBuilt();
    [keycloak, redisServer, browser] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
      launchChromium(),
    ]);
    redis = redisServer.client();
    realm = await keycloak.createRealm('backstage');
    backend = await BackendProcess.create(listenPort =>
      appBackendConfig({
        publicUrl: `http://localhost:${listenPort}`,
        listenPort,
        redisUrl: redisServer.url,
        prefix: PREFIX,
        issuer: realm.issuer,
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
    await keycloak?.dispose();
  });

  it(
    'a reload shows "Keycloak is unreachable" instead of the sign-in card, and the user is back without a Keycloak login once it runs again',
    withScreenshots(async () => {
      const session = await AppSession.open(browser, backend.url);
      sessions.push(session);
      expect(await session.goto()).toBe('sign-in');
      await session.signIn('alice');
      const cookie = (await session.refreshCookie())!.value;
      const keys = (await redis.keys(sessionKeyPattern(PREFIX))).sort();

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
      expect((await redis.keys(sessionKeyPattern(PREFIX))).sort()).toEqual(
        keys,
      );
      expect(await session.alerts()).toEqual([]);
    }),
  );
});
