import { decodeOAuthState } from '@backstage/plugin-auth-node';
import type { Redis } from 'ioredis';
import { networkInterfaces } from 'node:os';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import {
  APP_REDIRECT,
  completeCallback,
  loginUntilCallback,
  refresh,
  refreshWithCookie,
  signIn,
} from '../fixtures/signIn';

jest.setTimeout(90_000);

/** Attacks that worked before, against a real backend, dev IdP and Redis. */
describe('secure by default', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
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

  it('a leaked callback URL cannot be completed in another browser', async () => {
    const victim = new Browser();
    const callbackUrl = await loginUntilCallback(
      victim,
      backend.authUrl,
      'alice',
    );
    // the attacker has the URL (an access log, a referrer) and forges the
    // nonce cookie from the state, which carries the nonce in the clear
    const state = new URL(callbackUrl).searchParams.get('state')!;
    const attacker = new Browser();
    const res = await attacker.request(
      `${backend.authUrl}/handler/frame${new URL(callbackUrl).search}`,
      {
        headers: {
          cookie: `keycloak-oidc-nonce=${decodeOAuthState(state).nonce}`,
        },
        redirect: 'manual',
      },
    );
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toBe(
      'The sign-in callback arrived without the keycloak-oidc-login cookie; finish the sign-in in the browser that started it',
    );
    expect(res.headers.getSetCookie().join()).not.toMatch(
      /keycloak-oidc-refresh-token=[^;]/,
    );
    expect(await redis.keys(sessionKeyPattern())).toEqual([]);

    // the victim's own browser still finishes it
    const own = await completeCallback(victim, callbackUrl, backend.authUrl);
    expect(own.status).toBe(302);
    expect(own.headers.get('location')).toBe(APP_REDIRECT);
  });

  it("another deployment sharing the Redis and prefix neither serves nor touches this one's sessions", async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'bob');
    const keysBefore = (await redis.keys(sessionKeyPattern())).sort();
    const other = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url, // same Redis, same prefix
      provider: { clientId: 'another-backstage' },
    });
    try {
      const res = await refreshWithCookie(other.authUrl, handle);
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
    } finally {
      await other.stop();
    }
    expect((await redis.keys(sessionKeyPattern())).sort()).toEqual(keysBefore);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);
  });
});

describe('the dev IdP listening on every interface', () => {
  const address = Object.values(networkInterfaces())
    .flat()
    .find(i => i && i.family === 'IPv4' && !i.internal)?.address;
  let idp: DevIdp;

  beforeAll(async () => {
    idp = await DevIdp.start([
      '--host',
      '0.0.0.0',
      '--client-secret',
      'not-the-public-default',
    ]);
  });

  afterAll(() => idp?.stop());

  it('answers its /dev test hooks only to this machine', async () => {
    expect(address).toBeDefined(); // the machine has a network interface
    const local = await fetch(
      `http://127.0.0.1:${idp.port}/realms/backstage/dev/stats`,
    );
    expect(local.status).toBe(200);
    for (const path of ['dev/stats', 'dev/users/alice/logout']) {
      const remote = await fetch(
        `http://${address}:${idp.port}/realms/backstage/${path}`,
        { method: path.endsWith('logout') ? 'POST' : 'GET' },
      );
      expect(remote.status).toBe(403);
      expect(await remote.text()).toBe(
        'The /dev endpoints answer only requests from this machine',
      );
    }
  });
});
