import { Redis } from 'ioredis';
import { Browser } from '../__testUtils__/Browser';
import { DevIdp } from '../__testUtils__/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../__testUtils__/KeycloakTestBackend';
import { RedisServer } from '../__testUtils__/RedisServer';
import { logout, refresh, signIn } from '../__testUtils__/signIn';

jest.setTimeout(60_000);

/** Every token string the IdP issued in a token response seen by the test. */
function tokenSubstrings(tokens: Record<string, unknown>): string[] {
  return ['access_token', 'refresh_token', 'id_token']
    .map(k => tokens[k])
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .flatMap(t => [t, t.slice(0, 24), t.slice(-24)]);
}

async function dumpRedis(redis: Redis) {
  const keys = await redis.keys('*');
  const dump: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    dump[key] = type === 'hash' ? await redis.hgetall(key) : await redis.get(key);
  }
  return { keys, dump };
}

describe.each(['redis', 'memory'] as const)('login, refresh and logout (%s store)', store => {
  let idp: DevIdp;
  let redisServer: RedisServer | undefined;
  let redis: Redis | undefined;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    idp = await DevIdp.start();
    if (store === 'redis') {
      redisServer = await RedisServer.start();
      redis = redisServer.client();
    }
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer?.url,
    });
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('signs in through the IdP login page and refreshes to a Backstage identity', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    expect(handle).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.backstageIdentity.identity).toMatchObject({
      type: 'user',
      userEntityRef: 'user:default/alice',
    });
    expect(body.profile).toMatchObject({ email: 'alice@example.com' });
    expect(body.providerInfo.accessToken).toEqual(expect.any(String));
    expect(body.providerInfo.idToken).toEqual(expect.any(String));
    expect(body.providerInfo.expiresInSeconds).toBeGreaterThan(0);
    // the handle does not change on refresh, so no new cookie is set
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await idp.stats()).toMatchObject({ refreshGrants: 1 });
  });

  it('keeps only an opaque handle in the cookie and the tokens server-side', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'bob');
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const { providerInfo } = await res.json();
    const tokens = tokenSubstrings({
      access_token: providerInfo.accessToken,
      id_token: providerInfo.idToken,
    });

    for (const value of await browser.allCookieValues()) {
      for (const token of tokens) {
        expect(value).not.toContain(token);
      }
    }
    expect(handle.length).toBe(43);

    if (redis) {
      const { keys, dump } = await dumpRedis(redis);
      const sessionKeys = keys.filter(k => !k.includes(':login:'));
      expect(sessionKeys.length).toBeGreaterThanOrEqual(1);
      for (const key of keys) {
        expect(key).toMatch(/^test:session:/);
        expect(key).not.toContain(handle);
        for (const token of tokens) {
          expect(key).not.toContain(token);
        }
      }
      const values = JSON.stringify(dump);
      expect(values).not.toContain(handle);
      // the value holds the tokens Keycloak issued
      expect(values).toContain(providerInfo.accessToken);
      const bobKey = sessionKeys.find(k =>
        String((dump[k] as Record<string, string>).record).includes(providerInfo.accessToken),
      )!;
      expect((dump[bobKey] as Record<string, string>).user).toBe('user:default/bob');
      const record = JSON.parse((dump[bobKey] as Record<string, string>).record);
      expect(record).toMatchObject({
        sub: expect.any(String),
        refreshToken: expect.any(String),
        idToken: providerInfo.idToken,
      });
      expect(record.sid).toEqual(expect.any(String));
      const ttl = await redis.pttl(bobKey);
      expect(ttl).toBeGreaterThan(0);
      // never longer than the IdP's refresh token lifetime (dev IdP: 1800 s)
      expect(ttl).toBeLessThanOrEqual(1800 * 1000);
    }
  });

  it('logs out: deletes the session, clears the cookie, returns the end-session URL', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const keysBefore = redis ? await redis.keys('test:session:{*') : [];

    const res = await logout(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const { logoutUrl } = await res.json();
    const url = new URL(logoutUrl);
    expect(url.origin + url.pathname).toBe(
      `${idp.issuer}/protocol/openid-connect/logout`,
    );
    expect(url.searchParams.get('id_token_hint')).toEqual(expect.any(String));
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(
      'http://localhost:3000',
    );
    expect(res.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;.*Path=\/api\/auth\/keycloak-oidc/,
    );
    if (redis) {
      const keysAfter = await redis.keys('test:session:{*');
      expect(keysAfter.length).toBe(keysBefore.length - 1);
    }

    // the cookie is gone; with the old handle the session is gone too
    const after = await refresh(browser, backend.authUrl);
    expect(after.status).toBe(401);
  });

  it('a logged-out handle cannot be replayed', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'bob');
    expect((await logout(browser, backend.authUrl)).status).toBe(200);
    const replay = await fetch(`${backend.authUrl}/refresh?env=development`, {
      headers: {
        'X-Requested-With': 'XMLHttpRequest',
        cookie: `keycloak-oidc-refresh-token=${handle}`,
      },
    });
    expect(replay.status).toBe(401);
    expect((await replay.json()).error.message).toMatch(/Session not found or expired/);
    expect(replay.headers.getSetCookie().join()).toMatch(/keycloak-oidc-refresh-token=;/);
  });

  it('never logs a token or a session handle', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    const res = await refresh(browser, backend.authUrl);
    const { providerInfo } = await res.json();
    const logs = backend.logger.dump();
    expect(logs).not.toContain(handle);
    expect(logs).not.toContain(providerInfo.accessToken);
    expect(logs).not.toContain(providerInfo.idToken);
  });
});
