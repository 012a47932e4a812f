import { Redis } from 'ioredis';
import { Browser } from '../__testUtils__/Browser';
import {
  KeycloakServer,
  type KeycloakRealm,
} from '../__testUtils__/KeycloakServer';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../__testUtils__/KeycloakTestBackend';
import { RedisServer } from '../__testUtils__/RedisServer';
import { refresh, signIn } from '../__testUtils__/signIn';
import { keycloakUserEntities } from '../__testUtils__/keycloakUserEntities';

jest.setTimeout(180_000);

describe('sign-in through real Keycloak', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  const backends: KeycloakTestBackend[] = [];

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    realm = await keycloak.createRealm('backstage', {
      client: { redirectUris: ['http://localhost:*'] },
    });
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('logs in through the login form and refreshes to a Backstage identity', async () => {
    const backend = await startKeycloakTestBackend({
      issuer: realm.issuer,
      redisUrl: redisServer.url,
      entities: await keycloakUserEntities(realm, ['alice', 'bob']),
    });
    backends.push(backend);
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
    expect(body.profile).toMatchObject({
      email: 'alice@example.com',
      displayName: 'Alice Adams',
    });
    const redis = new Redis(redisServer.url);
    expect(await redis.keys('test:session:*')).not.toEqual([]);
    await redis.quit();
    expect(await realm.sessionsOf('alice')).toHaveLength(1);
  });
});
