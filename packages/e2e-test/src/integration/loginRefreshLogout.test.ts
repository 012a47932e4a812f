import { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { openSealedRecord, readChunked } from '../fixtures/openSealedRecord';
import { dumpRedis } from '../fixtures/redisDump';
import { RedisServer, redisCommandsDuring } from '@redis-session/test-support';
import { logout, refresh, signIn, refreshWithCookie } from '../fixtures/signIn';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(60_000);

/** Every token string the IdP issued in a token response seen by the test. */
function tokenSubstrings(tokens: Record<string, unknown>): string[] {
  return ['access_token', 'refresh_token', 'id_token']
    .map(k => tokens[k])
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .flatMap(t => [t, t.slice(0, 24), t.slice(-24)]);
}

describe.each(['redis', 'memory'] as const)(
  'login, refresh and logout (%s store)',
  store => {
    let idp: DevIdp;
    let redisServer: RedisServer | undefined;
    let backend: KeycloakTestBackend;

    beforeAll(async () => {
      idp = await DevIdp.start();
      redisServer = store === 'redis' ? await RedisServer.start() : undefined;
      backend = await startKeycloakTestBackend({
        issuer: idp.issuer,
        redisUrl: redisServer?.url,
      });
    });

    afterAll(async () => {
      await backend?.stop();
      await redisServer?.dispose();
      await idp?.stop();
    });

    it('signs in through the IdP login page and refreshes to a Backstage identity', async () => {
      const browser = new Browser();
      const handle = await signIn(browser, backend.authUrl, 'alice');
      expect(handle).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);

      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.backstageIdentity.identity).toMatchObject({
        type: 'user',
        userEntityRef: 'user:default/alice',
      });
      expect(body.profile).toMatchObject({
        email: 'alice@example.com',
        displayName: 'Alice Adams',
      });
      expect(body.providerInfo.accessToken).toEqual(expect.any(String));
      expect(body.providerInfo.idToken).toEqual(expect.any(String));
      expect(body.providerInfo.expiresInSeconds).toBeGreaterThan(0);
      // the handle does not change on refresh, so no new cookie is set
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await idp.stats()).toMatchObject({
        codeGrants: 1,
        refreshGrants: 1,
      });

      // Keycloak rotated the refresh token; the stored one is the new one
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
      expect(await idp.stats()).toMatchObject({
        refreshGrants: 2,
        refreshErrors: 0,
      });
    });

    it('keeps only an opaque handle in the cookie', async () => {
      const browser = new Browser();
      const handle = await signIn(browser, backend.authUrl, 'bob');
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(200);
      const { providerInfo } = await res.json();
      const tokens = tokenSubstrings({
        access_token: providerInfo.accessToken,
        id_token: providerInfo.idToken,
      });
      const cookies = await browser.allCookieValues();
      expect(cookies).toContain(handle);
      for (const value of cookies) {
        for (const token of tokens) {
          expect(value).not.toContain(token);
        }
      }
    });

    it('logs out: deletes the session, clears the cookie, returns the end-session URL', async () => {
      const browser = new Browser();
      const handle = await signIn(browser, backend.authUrl, 'alice');

      const res = await logout(browser, backend.authUrl);
      expect(res.status).toBe(200);
      const { logoutUrl } = await res.json();
      const url = new URL(logoutUrl);
      expect(url.origin + url.pathname).toBe(
        `${idp.issuer}/protocol/openid-connect/logout`,
      );
      expect(url.searchParams.get('id_token_hint')).toEqual(expect.any(String));
      expect(url.searchParams.get('client_id')).toBe('backstage');
      expect(url.searchParams.get('post_logout_redirect_uri')).toBe(
        'http://localhost:3000',
      );
      expect(res.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;.*Path=\/api\/auth\/keycloak-oidc/,
      );

      // following the end-session URL signs out at the IdP and comes back
      const endSession = await browser.follow(logoutUrl, {
        stopAt: next => next.origin === 'http://localhost:3000',
      });
      expect(endSession.res.status).toBe(200); // the self-submitting form
      const form = await endSession.res.text();
      const action = /action="([^"]+)"/.exec(form)![1];
      const fields = Object.fromEntries(
        [
          ...form.matchAll(
            /<input type="hidden" name="([^"]+)" value="([^"]*)"/g,
          ),
        ].map(m => [m[1], m[2]]),
      );
      const back = await browser.follow(new URL(action, logoutUrl).href, {
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ ...fields, logout: 'yes' }),
        },
        stopAt: next => next.origin === 'http://localhost:3000',
      });
      expect(back.url).toBe('http://localhost:3000/');

      // the session is gone server-side: the old handle no longer refreshes
      const replay = await refreshWithCookie(backend.authUrl, handle);
      expect(replay.status).toBe(401);
      expect((await replay.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
      expect(replay.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;/,
      );
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
  },
);

describe('what Redis holds', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
    });
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('keys hold no handle and no token; the value holds the tokens', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'bob');
    const res = await refresh(browser, backend.authUrl);
    const { providerInfo } = await res.json();
    const tokens = tokenSubstrings({
      access_token: providerInfo.accessToken,
      id_token: providerInfo.idToken,
    });

    const { keys, dump } = await dumpRedis(redis);
    // the login transaction was consumed; the session, its user's index,
    // the sid and entity pointers, the active-session set and the count of
    // logins started in this window (the pending-login budget) remain
    expect(keys).toHaveLength(6);
    expect(keys).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^test:session:\{u:[\w-]{16}\}:s:[\w-]{43}$/),
        expect.stringMatching(/^test:session:\{u:[\w-]{16}\}:sessions$/),
        expect.stringMatching(/^test:session:sid:\{[\w-]{43}\}$/),
        expect.stringMatching(/^test:session:entity:\{[\w-]{43}\}$/),
        'test:session:active',
        expect.stringMatching(/^test:session:\{logins\}:pending:\d+$/),
      ]),
    );
    const secret = handle.split('.')[1];
    for (const k of keys) {
      expect(k).not.toContain(secret);
      for (const token of tokens) {
        expect(k).not.toContain(token);
      }
    }
    expect(JSON.stringify(dump)).not.toContain(secret);
    const [key] = await redis.keys(sessionKeyPattern());

    const fields = dump[key] as Record<string, string>;
    expect(fields.user).toBe('user:default/bob');
    // sealed under a key only the cookie gives
    const record = openSealedRecord(await readChunked(redis, key), key, handle);
    expect(record).toMatchObject({
      sub: '6c1e6d63-4b3f-4a5d-8d2f-0b0b00000002',
      sid: expect.any(String),
      accessToken: providerInfo.accessToken,
      idToken: providerInfo.idToken,
      refreshToken: expect.any(String),
    });
    // idle TTL: the configured day, capped by the IdP's refresh_expires_in (1800 s)
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(1700 * 1000);
    expect(ttl).toBeLessThanOrEqual(1800 * 1000);
  });

  it('a refresh that calls Keycloak costs two Redis round trips', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    expect((await refresh(browser, backend.authUrl)).status).toBe(200); // loads the scripts
    const commands = await redisCommandsDuring(redis, async () => {
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
    });
    // Round trip 1, EVALSHA: not fresh (this backend always refreshes), so
    //   take the refresh lock and read the session (EXISTS, SET NX,
    //   HGETALL).
    // Round trip 2, one pipeline: EVALSHA storing the rotated tokens and
    //   the identity the resolver gave them, in chunks (one HSET; HGET x3:
    //   chunks a longer record or identity left, the legacy record field),
    //   sliding the TTLs of the session and its user index and releasing
    //   the lock (EXISTS, HSET, HGET x3, PEXPIRE x2, PTTL, GET, DEL); EVALSHA sliding the sid
    //   pointer (EXISTS, PTTL, PEXPIRE); EVALSHA adding the session to the
    //   pointer of the entity the resolver gave (SADD, PTTL, PEXPIRE); EVALSHA tracking the session in the set of
    //   live ones (ZREMRANGEBYSCORE of expired members, ZADD XX, PTTL,
    //   PEXPIRE).
    expect(commands).toEqual({
      evalsha: 5,
      exists: 3,
      sadd: 1,
      set: 1,
      hgetall: 1,
      hset: 1,
      pexpire: 5,
      pttl: 4,
      zremrangebyscore: 1,
      zadd: 1,
      hget: 3,
      get: 1,
      del: 1,
    });
  });

  it('a pending login is a short-lived key that the callback consumes', async () => {
    const browser = new Browser();
    const start = await browser.request(
      `${backend.authUrl}/start?env=development&flow=redirect&redirectUrl=${encodeURIComponent('http://localhost:3000/')}`,
    );
    expect(start.status).toBe(302);
    const logins = await redis.keys('test:session:login:*');
    expect(logins).toHaveLength(1);
    const ttl = await redis.pttl(logins[0]);
    expect(ttl).toBeGreaterThan(290 * 1000);
    expect(ttl).toBeLessThanOrEqual(300 * 1000);
    const authorizeUrl = new URL(start.headers.get('location')!);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('prompt')).toBeNull();
    const tx = JSON.parse((await redis.get(logins[0]))!);
    expect(authorizeUrl.searchParams.get('nonce')).toBe(tx.nonce);
    expect(authorizeUrl.searchParams.get('code_challenge')).not.toBe(
      tx.codeVerifier,
    );
    await redis.del(logins[0]);
  });
});
