import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import {
  completeCallback,
  loginUntilCallback,
  refresh,
  signIn,
  refreshWithCookie as refreshWithCookieAt,
} from '../fixtures/signIn';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { encodeOAuthState } from '@backstage/plugin-auth-node';

jest.setTimeout(60_000);

describe('bad input gets a precise 4xx and touches no other session', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;
  let victim: Browser;
  let victimKeys: string[];
  let victimCookie: string;
  const victimHandle = () => victimCookie;

  const refreshWithCookie = (value: string) =>
    refreshWithCookieAt(backend.authUrl, value);

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
    });
    victim = new Browser();
    victimCookie = await signIn(victim, backend.authUrl, 'alice');
    victimKeys = await redis.keys(sessionKeyPattern());
  });

  /** The healthy session is still there and still works. */
  async function expectVictimUntouched() {
    expect(await redis.keys(sessionKeyPattern())).toEqual(
      expect.arrayContaining(victimKeys),
    );
    expect((await refresh(victim, backend.authUrl)).status).toBe(200);
  }

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it.each([
    ['garbage', 'not a handle at all!'],
    ['truncated', () => randomBytes(32).toString('base64url').slice(0, 30)],
    ['too long', () => randomBytes(64).toString('base64url')],
    ['percent-encoded junk', '%00%ff%fe'],
  ])(
    'a %s refresh cookie gets 401 "malformed" and is cleared',
    async (_, value) => {
      const res = await refreshWithCookie(
        typeof value === 'function' ? value() : value,
      );
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.error.message).toBe(
        'Session cookie is malformed; sign in again',
      );
      expect(body.error.stack).toBeUndefined();
      expect(res.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;/,
      );
      await expectVictimUntouched();
    },
  );

  it.each([
    ['an unknown user tag', () => randomBytes(12).toString('base64url')],
    ["the victim's user tag", () => victimHandle().split('.')[0]],
  ])(
    'a forged (well-formed, unknown) handle with %s gets 401 "not found"',
    async (_, tag) => {
      const res = await refreshWithCookie(
        `${tag()}.${randomBytes(32).toString('base64url')}`,
      );
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
      await expectVictimUntouched();
    },
  );

  it('a truncated copy of a real handle does not reach the real session', async () => {
    const real = (await victim.cookieValue(
      `${backend.authUrl}/refresh`,
      'keycloak-oidc-refresh-token',
    ))!;
    const res = await refreshWithCookie(real.slice(0, -1));
    expect(res.status).toBe(401);
    await expectVictimUntouched();
  });

  it('no refresh cookie gets 401 naming the missing cookie', async () => {
    const res = await fetch(`${backend.authUrl}/refresh?env=development`, {
      headers: { 'X-Requested-With': 'XMLHttpRequest' },
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/Missing session cookie/);
    await expectVictimUntouched();
  });

  it('a refresh without X-Requested-With gets 401 naming the header', async () => {
    const res = await refresh(victim, backend.authUrl, {});
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toBe(
      'Invalid X-Requested-With header',
    );
    await expectVictimUntouched();
  });

  it('a replayed callback state gets 400 "already used"', async () => {
    const browser = new Browser();
    const callbackUrl = await loginUntilCallback(
      browser,
      backend.authUrl,
      'bob',
    );
    const first = await completeCallback(browser, callbackUrl, backend.authUrl);
    expect(first.status).toBe(302);
    const replay = await completeCallback(
      browser,
      callbackUrl,
      backend.authUrl,
    );
    expect(replay.status).toBe(400);
    expect((await replay.json()).error.message).toBe(
      'Unknown, expired or already used sign-in state; start the sign-in again',
    );
    await expectVictimUntouched();
  });

  it('a callback without the nonce cookie gets 403 naming the cookie', async () => {
    const browser = new Browser();
    const callbackUrl = await loginUntilCallback(
      browser,
      backend.authUrl,
      'bob',
    );
    const res = await completeCallback(
      new Browser(),
      callbackUrl,
      backend.authUrl,
    );
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(
      /without the keycloak-oidc-nonce cookie/,
    );
    await expectVictimUntouched();
  });

  it('a callback with a missing or garbage state gets a 4xx', async () => {
    const noState = await fetch(`${backend.authUrl}/handler/frame?code=abc`);
    expect(noState.status).toBe(400);
    const garbage = await fetch(
      `${backend.authUrl}/handler/frame?code=abc&state=zz-not-hex`,
    );
    expect(garbage.status).toBe(403);
    expect((await garbage.json()).error.message).toMatch(
      /OAuth state is invalid/,
    );
    await expectVictimUntouched();
  });
});

/**
 * `flow=redirect` sends the browser to `redirectUrl` after the login (and
 * after a failed callback) with the refresh cookie set; only the app's own
 * origin may receive it.
 */
describe('redirectUrl of a redirect-flow login', () => {
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

  const start = (redirectUrl?: string) =>
    fetch(
      `${backend.authUrl}/start?env=development&flow=redirect${
        redirectUrl === undefined
          ? ''
          : `&redirectUrl=${encodeURIComponent(redirectUrl)}`
      }`,
      { redirect: 'manual' },
    );

  it.each([
    ['another origin', 'https://evil.example/phish'],
    ['a protocol-relative URL', '//evil.example/x'],
    // eslint-disable-next-line no-script-url
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a look-alike host', 'http://localhost.evil.example:3000/'],
    ['userinfo tricks', 'http://localhost:3000@evil.example/'],
  ])('refuses %s with a 400 before storing anything', async (_, url) => {
    const res = await start(url);
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(
      /^redirectUrl must be on the app's origin \(http:\/\/localhost:3000\) or an allowed origin/,
    );
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await redis.keys('test:session:login:*')).toEqual([]);
  });

  it('refuses a redirect flow without a redirectUrl', async () => {
    const res = await start();
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe(
      'flow=redirect needs a redirectUrl',
    );
  });

  it('a callback whose state names a foreign redirectUrl is a 400, not a redirect', async () => {
    const state = encodeOAuthState({
      nonce: 'forged-nonce',
      env: 'development',
      flow: 'redirect',
      redirectUrl: 'https://evil.example/phish',
    });
    const res = await fetch(
      `${backend.authUrl}/handler/frame?state=${encodeURIComponent(state)}&error=access_denied`,
      {
        redirect: 'manual',
        headers: { cookie: 'keycloak-oidc-nonce=forged-nonce' },
      },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("sends the browser back to the app's own origin", async () => {
    const browser = new Browser();
    const callbackUrl = await loginUntilCallback(
      browser,
      backend.authUrl,
      'alice',
    );
    const res = await completeCallback(browser, callbackUrl, backend.authUrl);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://localhost:3000/signed-in');
  });
});
