import { BackendProcess } from '../fixtures/BackendProcess';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { freePort, RedisServer } from '@redis-session/test-support';
import { RoundRobinProxy } from '../fixtures/RoundRobinProxy';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(240_000);

/**
 * The example backend as real processes: two replicas behind a round-robin
 * balancer (same public backend.baseUrl, different listen ports), then a
 * fresh process after both are gone, then a Keycloak restart.
 */
describe('example backend processes on one Redis', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let proxy: RoundRobinProxy;
  let publicUrl: string;
  const processes: BackendProcess[] = [];

  async function startBackend() {
    const backend = await BackendProcess.create(listenPort => ({
      backend: {
        baseUrl: publicUrl,
        listen: { port: listenPort },
      },
      auth: {
        session: {
          minAccessTokenValidity: 0,
          store: 'redis',
          redis: { url: redisServer.url, prefix: 'e2e:session:' },
        },
        providers: {
          'keycloak-oidc': {
            development: {
              metadataUrl: idp.issuer,
              postLogoutRedirectUrl: publicUrl,
            },
          },
        },
      },
    }));
    processes.push(backend);
    await backend.start();
    await backend.waitForCatalogUser('alice');
    return backend;
  }

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    publicUrl = `http://localhost:${await freePort()}`;
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all(processes.map(p => p.dispose()));
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('replicas share logins and sessions; a new process keeps them; a Keycloak restart is one clean 401', async () => {
    const [a, b] = await Promise.all([startBackend(), startBackend()]);
    proxy = await RoundRobinProxy.listen(Number(new URL(publicUrl).port), [
      a.url,
      b.url,
    ]);
    const authUrl = `${publicUrl}/api/auth/keycloak-oidc`;

    // /start lands on A, the callback on B
    const browser = new Browser();
    const handle = await signIn(browser, authUrl, 'alice');
    expect(proxy.hits.slice(0, 2)).toEqual([a.url, b.url]);

    for (let i = 0; i < 4; i++) {
      const res = await refresh(browser, authUrl);
      expect(res.status).toBe(200);
      expect((await res.json()).backstageIdentity.identity.userEntityRef).toBe(
        'user:default/alice',
      );
    }
    expect(new Set(proxy.hits)).toEqual(new Set([a.url, b.url]));

    // both replicas go away; a new process serves the same cookie
    await Promise.all([a.stop(), b.stop()]);
    const c = await startBackend();
    const afterRestart = await refresh(
      browser,
      `${c.url}/api/auth/keycloak-oidc`,
    );
    expect(afterRestart.status).toBe(200);
    expect(
      (await afterRestart.json()).backstageIdentity.identity.userEntityRef,
    ).toBe('user:default/alice');
    expect(
      await browser.cookieValue(
        `${c.url}/api/auth/keycloak-oidc/refresh`,
        'keycloak-oidc-refresh-token',
      ),
    ).toBe(handle);

    // Keycloak restarts and loses the session
    await idp.restart();
    const logOffset = c.output().length;
    const ended = await refresh(browser, `${c.url}/api/auth/keycloak-oidc`);
    expect(ended.status).toBe(401);
    expect(ended.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    // exactly one warning for this refresh, and it names user and reason
    const warnings = c
      .output()
      .slice(logOffset)
      .split('\n')
      .filter(line => line.startsWith('{'))
      .map(line => JSON.parse(line))
      .filter(entry => entry.level === 'warn' && entry.plugin === 'auth');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      entityRef: 'user:default/alice',
      keycloakErrorDescription: 'Session not active',
    });
    expect(warnings[0].message).toContain('invalid_grant "Session not active"');
    expect(warnings[0].stack).toBeUndefined();
    expect(c.output()).not.toContain(handle);
  });
});
