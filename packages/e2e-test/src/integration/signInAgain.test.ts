import { Redis } from 'ioredis';
import { RedisServer } from '@redis-session/test-support';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import {
  completeCallback,
  loginUntilCallback,
  refresh,
  refreshCookieName,
  refreshWithCookie,
  signIn,
} from '../fixtures/signIn';
import { devUsers } from '../fixtures/users';

jest.setTimeout(60_000);

/** The session hashes of one user: the handle starts with the user's tag. */
const sessionKeysOf = (redis: Redis, handle: string) =>
  redis.keys(`test:session:{u:${handle.split('.')[0]}}:s:${'?'.repeat(43)}`);

describe('signing in again in the same browser (real Redis, real dev IdP)', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    // carol is not in the catalog: the sign-in resolver refuses her
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      users: ['alice', 'bob'],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('ends the older session: Redis holds one session for alice, the old handle gets 401', async () => {
    // someone else's session, which must outlive alice's second sign-in
    const bob = await signIn(new Browser(), backend.authUrl, 'bob');

    const browser = new Browser();
    const previous = await signIn(browser, backend.authUrl, 'alice');
    const [previousKey] = await sessionKeysOf(redis, previous);
    expect(previousKey).toBeDefined();
    expect(await redis.keys(sessionKeyPattern())).toHaveLength(2);

    // the same cookie jar: the callback carries the old refresh cookie
    const handle = await signIn(browser, backend.authUrl, 'alice');
    expect(handle).not.toBe(previous);

    const aliceKeys = await sessionKeysOf(redis, handle);
    expect(aliceKeys).toHaveLength(1);
    expect(aliceKeys).not.toContain(previousKey);
    expect(await redis.exists(previousKey)).toBe(0);
    // her user index no longer lists the old session either
    expect(
      await redis.zcard(`test:session:{u:${handle.split('.')[0]}}:sessions`),
    ).toBe(1);
    expect(await redis.keys(sessionKeyPattern())).toHaveLength(2);

    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    expect((await res.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
    const stale = await refreshWithCookie(backend.authUrl, previous);
    expect(stale.status).toBe(401);
    expect((await stale.json()).error.message).toBe(
      'Session not found or expired; sign in again',
    );
    expect((await refreshWithCookie(backend.authUrl, bob)).status).toBe(200);

    expect(backend.logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'info',
        meta: expect.objectContaining({ keycloakSub: devUsers.alice.sub }),
      }),
    );
    const logs = backend.logger.dump();
    expect(logs).not.toContain(previous);
    expect(logs).not.toContain(handle);
  });

  it('a refused sign-in in the same browser leaves the older session alive', async () => {
    const alice = await signIn(new Browser(), backend.authUrl, 'alice');
    const [aliceKey] = await sessionKeysOf(redis, alice);
    // a browser that holds alice's refresh cookie, but no IdP session (so
    // the IdP asks who signs in: carol)
    const browser = new Browser();
    await browser.jar.setCookie(
      `${refreshCookieName()}=${alice}; Path=${new URL(backend.authUrl).pathname}`,
      backend.authUrl,
    );

    const callbackUrl = await loginUntilCallback(
      browser,
      backend.authUrl,
      'carol',
    );
    const refused = await completeCallback(
      browser,
      callbackUrl,
      backend.authUrl,
    );
    expect(refused.headers.get('location')).toMatch(/\?error=/);

    expect(await redis.exists(aliceKey)).toBe(1);
    expect((await refreshWithCookie(backend.authUrl, alice)).status).toBe(200);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);
  });
});
