import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(60_000);

const CHECK_INTERVAL_SECONDS = 2;

/**
 * One-hour access tokens (seed 000's production advice) with the fast path
 * on: a session the IdP ended is noticed within keycloakCheckInterval, not
 * when the access token expires.
 */
describe('the fast path with one-hour access tokens', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(['--access-token-ttl', '3600']),
      RedisServer.start(),
    ]);
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix: 'test:session:' },
        minAccessTokenValidity: 240,
        keycloakCheckInterval: CHECK_INTERVAL_SECONDS,
      },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('coalesces refreshes within the interval and ends a dead session after it', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const started = Date.now();

    // a burst within the interval: no refresh grant at all
    const burst = await Promise.all(
      Array.from({ length: 5 }, () => refresh(browser, backend.authUrl)),
    );
    expect(burst.map(r => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await idp.stats()).refreshGrants).toBe(0);
    // if the machine was slow the burst may have crossed the interval
    expect(Date.now() - started).toBeLessThan(CHECK_INTERVAL_SECONDS * 1000);

    // the IdP ends the session (no back-channel logout configured)
    await idp.signOutUser('alice');
    await new Promise(r => setTimeout(r, CHECK_INTERVAL_SECONDS * 1000 + 200));

    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect((await idp.stats()).refreshErrors).toBe(1);
    expect(
      backend.logger.lines.filter(
        l =>
          l.level === 'warn' &&
          l.meta.keycloakErrorDescription === 'Session not active',
      ),
    ).toHaveLength(1);
  });

  it('asks Keycloak again once the interval has passed, for a live session', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    const before = (await idp.stats()).refreshGrants;
    await new Promise(r => setTimeout(r, CHECK_INTERVAL_SECONDS * 1000 + 200));
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);
    // the first refresh confirmed the session; the second was served fresh
    expect((await idp.stats()).refreshGrants).toBe(before + 1);
  });
});
