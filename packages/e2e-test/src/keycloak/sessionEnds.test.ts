import type { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { keycloakUserEntities } from '../fixtures/keycloakUserEntities';
import {
  keycloakEndedWarnings,
  keycloakRefreshGrant,
  reportKeycloakError,
  sessionKeys,
  storedRefreshToken,
} from '../fixtures/keycloakSuite';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';
import type { JsonObject } from '@backstage/types';

jest.setTimeout(180_000);

const BACKCHANNEL_PATH = '/api/auth/keycloak-oidc/backchannel-logout';

/**
 * Every way real Keycloak ends a session, seen through the module: one 401
 * that clears the cookie and deletes the Redis session, one warning with
 * Keycloak's own error_description, nothing else touched.
 */
describe('when real Keycloak ends a session', () => {
  let keycloak: KeycloakServer;
  let redisServer: RedisServer;
  let redis: Redis;
  const backends: KeycloakTestBackend[] = [];
  let prefixes = 0;

  async function realmAndBackend(
    name: string,
    realmPatch: JsonObject = {},
    session: JsonObject = {},
  ) {
    const realm = await keycloak.createRealm(name, {
      realm: realmPatch,
    });
    const prefix = `ends${++prefixes}:session:`;
    const backend = await startKeycloakTestBackend({
      issuer: realm.issuer,
      entities: await keycloakUserEntities(realm, ['alice', 'bob', 'carol']),
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix },
        ...session,
      },
    });
    backends.push(backend);
    return { realm, backend: { ...backend, prefix } };
  }

  /**
   * Keycloak checks SSO Session Idle on its own side with a window of
   * IDLE_TIMEOUT_WINDOW_SECONDS (120 s) on top, for multi-site clocks. A
   * realm whose idle time is shortened after a login (a policy change) ends
   * that session there while its refresh token, and so the Redis session,
   * still has a long life: Keycloak's idle verdict reaches the module. The
   * login happens first so the window runs out during the other tests.
   */
  const IDLE_SHORTENED_TO_SECONDS = 2;
  const KEYCLOAK_IDLE_WINDOW_SECONDS = 120;
  let idleShortened: {
    backend: KeycloakTestBackend & { prefix: string };
    browser: Browser;
    key: string;
    shortenedAt: number;
  };

  async function signInThenShortenIdle() {
    const { realm, backend } = await realmAndBackend('idle-shortened');
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'carol');
    const [key] = await sessionKeys(redis, backend.prefix);
    await realm.updateRealm({
      ssoSessionIdleTimeout: IDLE_SHORTENED_TO_SECONDS,
    });
    return { backend, browser, key, shortenedAt: Date.now() };
  }

  /** The one clean end: 401, cookie cleared, Redis session gone. */
  async function expectCleanEnd(
    browser: Browser,
    backend: KeycloakTestBackend,
    sessionKey: string,
  ) {
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(res.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect(await redis.exists(sessionKey)).toBe(0);
    // the browser no longer holds a cookie to retry with
    expect(
      await browser.cookieValue(
        `${backend.authUrl}/refresh`,
        'keycloak-oidc-refresh-token',
      ),
    ).toBeUndefined();
    return body;
  }

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    idleShortened = await signInThenShortenIdle();
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    redis?.disconnect();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('admin sign-out (no back-channel URL): the next refresh is one clean 401 naming Keycloak’s reason', async () => {
    const { realm, backend } = await realmAndBackend('admin-signout');
    const alice = new Browser();
    const bob = new Browser();
    await signIn(alice, backend.authUrl, 'alice');
    await signIn(bob, backend.authUrl, 'bob');
    const [aliceKey] = await redis
      .keys(`${backend.prefix}{u:*}:s:*`)
      .then(async keys => {
        const owned = [];
        for (const key of keys) {
          if ((await redis.hget(key, 'sub')) === (await realm.userId('alice')))
            owned.push(key);
        }
        return owned;
      });
    expect(aliceKey).toBeDefined();

    await realm.signOut('alice');
    expect(await realm.sessionsOf('alice')).toEqual([]);

    const body = await expectCleanEnd(alice, backend, aliceKey);
    expect(body.error.message).toMatch(/Keycloak/);
    const warnings = keycloakEndedWarnings(backend);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('user:default/alice');
    reportKeycloakError(
      'admin sign-out',
      warnings[0].meta.keycloakErrorDescription,
    );
    expect(warnings[0].meta.keycloakErrorDescription).toBe(
      'Session not active',
    );

    // bob's session is untouched
    expect((await refresh(bob, backend.authUrl)).status).toBe(200);
    expect(await sessionKeys(redis, backend.prefix)).toHaveLength(1);
  });

  it('a disabled user: the next refresh is one clean 401 naming Keycloak’s reason', async () => {
    const { realm, backend } = await realmAndBackend('disabled-user');
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'carol');
    const [key] = await sessionKeys(redis, backend.prefix);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    await realm.setUserEnabled('carol', false);
    await expectCleanEnd(browser, backend, key);
    const warnings = keycloakEndedWarnings(backend);
    expect(warnings).toHaveLength(1);
    reportKeycloakError(
      'user disabled',
      warnings[0].meta.keycloakErrorDescription,
    );
    expect(warnings[0].meta.keycloakErrorDescription).toEqual(
      expect.any(String),
    );
  });

  it('SSO Session Idle expiry: the session ends with Keycloak’s refresh token, in one clean 401', async () => {
    const IDLE_SECONDS = 4;
    const { realm, backend } = await realmAndBackend('short-idle', {
      ssoSessionIdleTimeout: IDLE_SECONDS,
    });
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    const [key] = await sessionKeys(redis, backend.prefix);
    const refreshToken = await storedRefreshToken(redis, key, handle);
    // the module keeps the session exactly as long as Keycloak's refresh
    // token (refresh_expires_in), not the 24 h default idle TTL
    expect(await redis.pttl(key)).toBeLessThanOrEqual(IDLE_SECONDS * 1000);

    await new Promise(r => setTimeout(r, IDLE_SECONDS * 1000 + 1000));
    // Keycloak's own verdict on the token the session held
    const grant = await keycloakRefreshGrant(realm, refreshToken);
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('invalid_grant');
    reportKeycloakError(
      'SSO Session Idle expiry',
      grant.body.error_description,
    );

    const body = await expectCleanEnd(browser, backend, key);
    expect(body.error.message).toBe(
      'Session not found or expired; sign in again',
    );
  });

  it('one-hour access tokens: a disabled user is refused once keycloakCheckInterval has passed', async () => {
    const CHECK_INTERVAL_SECONDS = 3;
    const { realm, backend } = await realmAndBackend(
      'one-hour-tokens',
      { accessTokenLifespan: 3600 },
      {
        minAccessTokenValidity: 240,
        keycloakCheckInterval: CHECK_INTERVAL_SECONDS,
      },
    );
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    const [key] = await sessionKeys(redis, backend.prefix);
    const first = await refresh(browser, backend.authUrl);
    expect(first.status).toBe(200);
    expect((await first.json()).providerInfo.expiresInSeconds).toBeGreaterThan(
      3500,
    );
    const refreshesBefore = (await realm.events(['REFRESH_TOKEN'])).length;
    expect(refreshesBefore).toBe(0); // served from Redis: login just confirmed it

    await realm.setUserEnabled('bob', false);
    await new Promise(r => setTimeout(r, CHECK_INTERVAL_SECONDS * 1000 + 500));
    await expectCleanEnd(browser, backend, key);
    const warnings = keycloakEndedWarnings(backend);
    expect(warnings).toHaveLength(1);
    reportKeycloakError(
      'user disabled, one-hour tokens',
      warnings[0].meta.keycloakErrorDescription,
    );
  });

  it('back-channel logout: an admin sign-out delivers Keycloak’s logout tokens and ends exactly that user’s sessions', async () => {
    const { realm, backend } = await realmAndBackend('backchannel');
    await realm.updateBackstageClient({
      attributes: {
        'backchannel.logout.url': `${backend.url}${BACKCHANNEL_PATH}`,
        'backchannel.logout.session.required': 'true',
      },
    });
    const aliceTabs = [new Browser(), new Browser()];
    for (const tab of aliceTabs) await signIn(tab, backend.authUrl, 'alice');
    const bob = new Browser();
    await signIn(bob, backend.authUrl, 'bob');
    expect(await sessionKeys(redis, backend.prefix)).toHaveLength(3);

    await realm.signOut('alice');
    // Keycloak posts the logout tokens before the admin call returns
    const accepted = backend.logger.lines.filter(l =>
      /back-channel logout/i.test(l.message),
    );
    expect(accepted.map(l => l.message)).toEqual([
      expect.stringMatching(
        /^Back-channel logout: deleted 1 session\(s\) of sub=/,
      ),
      expect.stringMatching(
        /^Back-channel logout: deleted 1 session\(s\) of sub=/,
      ),
    ]);
    expect(await sessionKeys(redis, backend.prefix)).toHaveLength(1);
    for (const tab of aliceTabs) {
      const res = await refresh(tab, backend.authUrl);
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
    }
    expect((await refresh(bob, backend.authUrl)).status).toBe(200);
    // the sessions ended before any refresh could ask Keycloak
    expect(keycloakEndedWarnings(backend)).toEqual([]);
  });
  // last: it waits out Keycloak's idle window, which started in beforeAll
  it('SSO Session Idle reached at Keycloak while the refresh token lives on: one clean 401 naming Keycloak’s reason', async () => {
    const { backend, browser, key, shortenedAt } = idleShortened;
    const endsAt =
      shortenedAt +
      (IDLE_SHORTENED_TO_SECONDS + KEYCLOAK_IDLE_WINDOW_SECONDS + 3) * 1000;
    await new Promise(r => setTimeout(r, Math.max(0, endsAt - Date.now())));
    // the Redis session is still there: its TTL is the refresh token's
    expect(await redis.pttl(key)).toBeGreaterThan(60_000);

    await expectCleanEnd(browser, backend, key);
    const warnings = keycloakEndedWarnings(backend);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('user:default/carol');
    reportKeycloakError(
      'SSO Session Idle reached at Keycloak',
      warnings[0].meta.keycloakErrorDescription,
    );
    expect(warnings[0].meta.keycloakErrorDescription).toEqual(
      expect.any(String),
    );
  });
});
