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
  keycloakRefreshGrant,
  reportKeycloakError,
  sessionKeys,
  storedRefreshToken,
} from '../fixtures/keycloakSuite';
import { RedisServer } from '@redis-session/test-support';
import { refreshWithCookie, signIn } from '../fixtures/signIn';

jest.setTimeout(180_000);

const PREFIX = 'rotation:session:';

const intoTheNextSecond = () =>
  new Promise(r => setTimeout(r, 1100 - (Date.now() % 1000)));

/**
 * Keycloak with "Revoke Refresh Token" on and max reuse 0: a refresh token
 * used twice ends the session. Concurrent refreshes of one session on three
 * backends must reach Keycloak one at a time, each with the latest token.
 */
describe('refresh-token rotation with real Keycloak', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  let redis: Redis;
  const backends: KeycloakTestBackend[] = [];

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    realm = await keycloak.createRealm('rotating', {
      realm: { revokeRefreshToken: true, refreshTokenMaxReuse: 0 },
    });
    const entities = await keycloakUserEntities(realm, ['alice']);
    for (let i = 0; i < 3; i++) {
      backends.push(
        await startKeycloakTestBackend({
          issuer: realm.issuer,
          entities,
          // every refresh that gets the lock calls Keycloak
          session: {
            store: 'redis',
            minAccessTokenValidity: 0,
            redis: { url: redisServer.url, prefix: PREFIX },
          },
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    redis?.disconnect();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('3 backends × 20 concurrent refreshes of one session: all 200, no REFRESH_TOKEN_ERROR', async () => {
    const browser = new Browser();
    const handle = await signIn(browser, backends[0].authUrl, 'alice');
    const [key] = await sessionKeys(redis, PREFIX);
    const firstToken = await storedRefreshToken(redis, key, handle);
    await realm.clearEvents();
    // Keycloak's stale-token check compares whole seconds (token iat <
    // last refresh): start the burst in a later second than the login, so
    // any refresh with an already-rotated token would be refused
    await intoTheNextSecond();

    const responses = await Promise.all(
      backends.flatMap(backend =>
        Array.from({ length: 20 }, () =>
          refreshWithCookie(backend.authUrl, handle),
        ),
      ),
    );
    const statuses = responses.map(r => r.status);
    expect(statuses).toEqual(Array(60).fill(200));
    const identities = await Promise.all(responses.map(r => r.json()));
    expect(
      new Set(identities.map(b => b.backstageIdentity.identity.userEntityRef)),
    ).toEqual(new Set(['user:default/alice']));

    const refreshes = await realm.events(['REFRESH_TOKEN']);
    const errors = await realm.events(['REFRESH_TOKEN_ERROR']);
    process.stderr.write(
      `rotation: 60 concurrent refreshes on 3 backends: ${refreshes.length} Keycloak REFRESH_TOKEN event(s), ${errors.length} REFRESH_TOKEN_ERROR\n`,
    );
    expect(errors).toEqual([]);
    expect(refreshes.length).toBeGreaterThanOrEqual(1);

    // the session still refreshes afterwards, with Keycloak's latest token
    expect((await refreshWithCookie(backends[1].authUrl, handle)).status).toBe(
      200,
    );
    // and Keycloak really enforces rotation: the first token is dead now
    await intoTheNextSecond();
    const reuse = await keycloakRefreshGrant(realm, firstToken);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    reportKeycloakError(
      'reuse of a rotated refresh token',
      reuse.body.error_description,
    );
  });
});
