import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisCluster } from '../fixtures/RedisCluster';
import { logout, refresh, signIn } from '../fixtures/signIn';
import type { DevUserName } from '../fixtures/users';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(90_000);

describe('on a 3-master Redis Cluster', () => {
  let idp: DevIdp;
  let cluster: RedisCluster;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, cluster] = await Promise.all([DevIdp.start(), RedisCluster.start(3)]);
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice', 'bob', 'carol'],
      session: {
        store: 'redis',
        redis: {
          cluster: { nodes: cluster.addresses },
          prefix: 'test:session:',
        },
      },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await cluster?.dispose();
    await idp?.stop();
  });

  const sessionsPerNode = async () =>
    (await cluster.keysPerNode(sessionKeyPattern())).map(keys => keys.length);

  it('logs in, refreshes, logs out and cleans up after invalid_grant; sessions spread over the masters', async () => {
    // enough sessions that every master holds some (slots are hashed from the key id)
    const users: DevUserName[] = ['alice', 'bob', 'carol'];
    const browsers = [];
    for (let i = 0; i < 12; i++) {
      const browser = new Browser();
      await signIn(browser, backend.authUrl, users[i % users.length]);
      browsers.push(browser);
    }
    const spread = await sessionsPerNode();
    expect(spread.reduce((a, b) => a + b, 0)).toBe(12);
    expect(spread.filter(n => n > 0).length).toBeGreaterThanOrEqual(2);

    for (const browser of browsers) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(200);
    }

    const [first, ...rest] = browsers;
    expect((await logout(first, backend.authUrl)).status).toBe(200);
    expect((await sessionsPerNode()).reduce((a, b) => a + b, 0)).toBe(11);

    // Keycloak restart: every refresh is a clean 401 and every session is deleted
    await idp.restart();
    for (const browser of rest) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;/,
      );
    }
    expect(await sessionsPerNode()).toEqual([0, 0, 0]);
    expect(backend.logger.requestWarnings()).toHaveLength(11);
  });
});
