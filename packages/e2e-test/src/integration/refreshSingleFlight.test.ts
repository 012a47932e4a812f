import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer, redisCommandsDuring } from '@redis-session/test-support';
import { refreshWithCookie, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

/**
 * The dev IdP rotates refresh tokens and rejects reuse (ending the grant),
 * like Keycloak with "Revoke Refresh Token" and max reuse 0.
 */
describe('concurrent refreshes of one session', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  const backends: KeycloakTestBackend[] = [];

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    await redisServer?.dispose();
    await idp?.stop();
  });

  async function backend(minAccessTokenValidity: number) {
    const b = await startKeycloakTestBackend({
      issuer: idp.issuer,
      session: {
        store: 'redis',
        minAccessTokenValidity,
        redis: { url: redisServer.url, prefix: 'test:session:' },
      },
    });
    backends.push(b);
    return b;
  }

  it('3 replicas x 20 concurrent refreshes: no failure, one Keycloak grant per rotation', async () => {
    // minAccessTokenValidity 0: every refresh that gets the lock calls Keycloak
    const replicas = await Promise.all([backend(0), backend(0), backend(0)]);
    const browser = new Browser();
    const handle = await signIn(browser, replicas[0].authUrl, 'alice');
    const before = await idp.stats();

    const responses = await Promise.all(
      replicas.flatMap(r =>
        Array.from({ length: 20 }, () => refreshWithCookie(r.authUrl, handle)),
      ),
    );
    const bodies = await Promise.all(responses.map(r => r.json()));
    expect(responses.map(r => r.status)).toEqual(Array(60).fill(200));
    for (const body of bodies) {
      expect(body.backstageIdentity.identity.userEntityRef).toBe(
        'user:default/alice',
      );
    }

    const after = await idp.stats();
    const grants = after.refreshGrants - before.refreshGrants;
    expect(after.refreshErrors - before.refreshErrors).toBe(0);
    // every grant's result was served; waiters reused the holder's tokens
    const accessTokens = new Set(bodies.map(b => b.providerInfo.accessToken));
    expect(accessTokens.size).toBe(grants);
    expect(grants).toBeLessThan(60);
    // eslint-disable-next-line no-console
    console.log(
      `60 concurrent refreshes on 3 replicas: ${grants} Keycloak refresh grant(s), 0 errors`,
    );

    // the user is still signed in
    expect((await refreshWithCookie(replicas[1].authUrl, handle)).status).toBe(
      200,
    );
  });

  it('answers from the stored tokens while the access token is fresh (fast path)', async () => {
    const app = await backend(240);
    const browser = new Browser();
    const handle = await signIn(browser, app.authUrl, 'bob');
    const before = await idp.stats();

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => refreshWithCookie(app.authUrl, handle)),
    );
    expect(responses.map(r => r.status)).toEqual(Array(20).fill(200));
    const after = await idp.stats();
    // the dev IdP's access tokens live 300 s > 240 s: Keycloak is not called
    expect(after.refreshGrants - before.refreshGrants).toBe(0);
    const body = await responses[0].json();
    expect(body.providerInfo.expiresInSeconds).toBeGreaterThan(240);
    expect(body.backstageIdentity.identity.userEntityRef).toBe(
      'user:default/bob',
    );

    // one Redis round trip: the script sees the fresh expiry and a recent
    // Keycloak confirmation (HMGET), takes no lock
    const redis = redisServer.client();
    const commands = await redisCommandsDuring(redis, async () => {
      expect((await refreshWithCookie(app.authUrl, handle)).status).toBe(200);
    });
    redis.disconnect();
    expect(commands).toEqual({ evalsha: 1, exists: 1, hmget: 1, hgetall: 1 });
  });
});
