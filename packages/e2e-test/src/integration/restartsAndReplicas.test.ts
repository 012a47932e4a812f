import { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { freePort, RedisServer } from '@redis-session/test-support';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import {
  APP_REDIRECT,
  completeCallback,
  loginUntilCallback,
  refresh,
  signIn,
} from '../fixtures/signIn';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(90_000);

const sessionKeys = (redis: Redis) => redis.keys(sessionKeyPattern());

describe('restarts and replicas (real Redis, real dev IdP)', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  const backends: KeycloakTestBackend[] = [];

  async function backend(options: { callbackUrl?: string } = {}) {
    const b = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      ...options,
    });
    backends.push(b);
    return b;
  }

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start({ persistent: true });
    redis = redisServer.client();
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop().catch(() => {})));
    redis.disconnect();
    await redisServer.dispose();
    await idp.stop();
  });

  const moduleClients = async () =>
    ((await redis.client('LIST')) as string)
      .split('\n')
      .filter(line => line.includes('name=backstage-keycloak-sessions')).length;

  it('a session survives a backend restart', async () => {
    const clientsBefore = await moduleClients();
    const first = await backend();
    // one Redis connection per backend instance, closed on shutdown
    expect(await moduleClients()).toBe(clientsBefore + 1);
    const browser = new Browser();
    const handle = await signIn(browser, first.authUrl, 'alice');
    await first.stop();
    expect(await moduleClients()).toBe(clientsBefore);

    const second = await backend();
    const res = await refresh(browser, second.authUrl);
    expect(res.status).toBe(200);
    expect((await res.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
    expect(
      await browser.cookieValue(
        `${second.authUrl}/refresh`,
        'keycloak-oidc-refresh-token',
      ),
    ).toBe(handle);
  });

  it('replicas behind one public URL share sessions and logins', async () => {
    const publicCallback = `http://localhost:${await freePort()}/api/auth/keycloak-oidc/handler/frame`;
    const a = await backend({ callbackUrl: publicCallback });
    const b = await backend({ callbackUrl: publicCallback });

    // a session made on A refreshes on B
    const browser = new Browser();
    await signIn(browser, a.authUrl, 'bob');
    const onB = await refresh(browser, b.authUrl);
    expect(onB.status).toBe(200);
    expect((await onB.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/bob',
    );

    // a login started on A completes on B
    const other = new Browser();
    const callbackUrl = await loginUntilCallback(other, a.authUrl, 'alice');
    expect(callbackUrl.startsWith(publicCallback)).toBe(true);
    const callback = await completeCallback(other, callbackUrl, b.authUrl);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe(APP_REDIRECT);
    // ...and alternates between replicas afterwards
    for (const replica of [a, b, a, b]) {
      const res = await refresh(other, replica.authUrl);
      expect(res.status).toBe(200);
    }
  });

  it('a Keycloak restart turns into one clean 401, a cleared cookie and a fresh login', async () => {
    const app = await backend();
    const browser = new Browser();
    await signIn(browser, app.authUrl, 'alice');
    const before = await sessionKeys(redis);

    await idp.restart();

    const res = await refresh(browser, app.authUrl);
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error.message).toBe(
      'Keycloak session ended (Session not active); sign in again',
    );
    expect(body.error.stack).toBeUndefined();
    const cleared = res.headers.getSetCookie().join('\n');
    expect(cleared).toMatch(/keycloak-oidc-refresh-token=;/);
    expect(cleared).toMatch(/Path=\/api\/auth\/keycloak-oidc/);
    expect(cleared).toMatch(/HttpOnly/);
    expect(cleared).toMatch(/SameSite=Lax/);
    expect(
      await browser.cookieValue(
        `${app.authUrl}/refresh`,
        'keycloak-oidc-refresh-token',
      ),
    ).toBeUndefined();
    expect((await sessionKeys(redis)).length).toBe(before.length - 1);

    const warnings = app.logger.requestWarnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('invalid_grant "Session not active"');
    expect(warnings[0].message).toContain('user:default/alice');
    expect(warnings[0].meta).toMatchObject({ entityRef: 'user:default/alice' });
    expect(JSON.stringify(warnings[0])).not.toMatch(/\bat .*\.(js|ts):\d+/);

    // the next login works normally
    await signIn(browser, app.authUrl, 'alice');
    expect((await refresh(browser, app.authUrl)).status).toBe(200);
  });

  it('Redis down during refresh: prompt 503 naming the store, the session survives', async () => {
    const app = await backend();
    const browser = new Browser();
    await signIn(browser, app.authUrl, 'bob');

    await redisServer.stop();
    const startedAt = Date.now();
    const res = await refresh(browser, app.authUrl);
    const elapsedMs = Date.now() - startedAt;
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error.message).toMatch(
      /^Session store \(Redis\) unavailable while reading the session/,
    );
    expect(res.headers.getSetCookie()).toEqual([]);
    // fails fast instead of queueing until Redis is back
    expect(elapsedMs).toBeLessThan(10_000);

    await redisServer.start();
    let after: Response | undefined;
    for (let i = 0; i < 50; i++) {
      after = await refresh(browser, app.authUrl);
      if (after.status !== 503) break;
      await new Promise(r => setTimeout(r, 200));
    }
    expect(after!.status).toBe(200);
  });

  it('Keycloak unreachable during refresh: 503 naming Keycloak, the session survives', async () => {
    const app = await backend();
    const browser = new Browser();
    await signIn(browser, app.authUrl, 'alice');
    const before = await sessionKeys(redis);

    await idp.stop();
    try {
      const res = await refresh(browser, app.authUrl);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error.message).toMatch(
        /^Keycloak token endpoint failed during refresh/,
      );
      expect(body.error).toMatchObject({
        name: 'ServiceUnavailableError',
        dependency: 'keycloak',
      });
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(await sessionKeys(redis)).toEqual(expect.arrayContaining(before));
      expect(app.logger.requestWarnings()).toEqual([]);
    } finally {
      await idp.start();
    }
  });
});
