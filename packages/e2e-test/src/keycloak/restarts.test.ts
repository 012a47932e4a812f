import type { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import type { KeycloakRealm } from '../fixtures/KeycloakRealm';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { keycloakUserEntities } from '../fixtures/keycloakUserEntities';
import {
  keycloakEndedWarnings,
  reportKeycloakError,
  sessionKeys,
} from '../fixtures/keycloakSuite';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(300_000);

async function startBackend(
  realm: KeycloakRealm,
  redisServer: RedisServer,
  prefix: string,
) {
  return startKeycloakTestBackend({
    issuer: realm.issuer,
    entities: await keycloakUserEntities(realm, ['alice', 'bob']),
    session: {
      store: 'redis',
      minAccessTokenValidity: 0,
      redis: { url: redisServer.url, prefix },
    },
  });
}

/** Keycloak 26's default: user sessions persist in its database. */
describe('Keycloak restarts with persistent user sessions', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;
  const PREFIX = 'persistent:session:';

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    realm = await keycloak.createRealm('backstage');
    backend = await startBackend(realm, redisServer, PREFIX);
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('a restart keeps the user signed in, with no invalid_grant', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    await keycloak.restart();
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    expect((await res.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
    expect(await realm.sessionsOf('alice')).toHaveLength(1);
    expect(keycloakEndedWarnings(backend)).toEqual([]);
  });

  it('Keycloak down: /refresh answers 503 naming Keycloak and deletes nothing; once it is back the same cookie refreshes', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    const keysBefore = (await sessionKeys(redis, PREFIX)).sort();

    await keycloak.stop();
    const down = await refresh(browser, backend.authUrl);
    expect(down.status).toBe(503);
    const body = await down.json();
    expect(body.error.message).toMatch(/Keycloak/);
    expect(body.error.message).not.toMatch(/\n\s+at /); // no stack trace
    expect(down.headers.getSetCookie()).toEqual([]); // the cookie stays
    expect((await sessionKeys(redis, PREFIX)).sort()).toEqual(keysBefore);

    await keycloak.start();
    const up = await refresh(browser, backend.authUrl);
    expect(up.status).toBe(200);
    expect((await up.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/bob',
    );
    expect(keycloakEndedWarnings(backend)).toEqual([]);
  });
});

/**
 * A Keycloak without persistent user sessions (the feature disabled, as
 * before Keycloak 25): a restart loses every session.
 */
describe('a Keycloak restart that loses sessions', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;
  const PREFIX = 'volatile:session:';

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start({ disabledFeatures: ['persistent-user-sessions'] }),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    realm = await keycloak.createRealm('backstage');
    backend = await startBackend(realm, redisServer, PREFIX);
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('is one clean 401 per session, then a new login works', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const [key] = await sessionKeys(redis, PREFIX);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    await keycloak.restart();
    expect(await realm.sessionsOf('alice')).toEqual([]);
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect(await redis.exists(key)).toBe(0);
    const warnings = keycloakEndedWarnings(backend);
    expect(warnings).toHaveLength(1);
    reportKeycloakError(
      'restart without persistent user sessions',
      warnings[0].meta.keycloakErrorDescription,
    );

    // a second refresh has no cookie to send; a new sign-in works
    await signIn(browser, backend.authUrl, 'alice');
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);
  });
});
