import type { JsonObject } from '@backstage/types';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { openSealedRecord } from '../fixtures/openSealedRecord';
import { dumpRedis } from '../fixtures/redisDump';
import { RedisServer } from '../fixtures/RedisServer';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

const newKey = (id: string) => ({
  id,
  secret: randomBytes(32).toString('base64'),
});

describe('token sets are sealed at rest (AES-256-GCM)', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend | undefined;
  const oldKey = newKey('k1');
  const nextKey = newKey('k2');

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  /** (Re)starts the backend with these encryption keys, as a redeploy would. */
  async function deployWith(keys: JsonObject[]) {
    await backend?.stop();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice', 'bob', 'carol'],
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix: 'test:session:' },
        encryption: { keys },
      },
    });
    return backend;
  }

  it('a Redis dump holds no token and no cookie value', async () => {
    const app = await deployWith([oldKey]);
    const browser = new Browser();
    const handle = await signIn(browser, app.authUrl, 'alice');
    const res = await refresh(browser, app.authUrl);
    expect(res.status).toBe(200);
    const { providerInfo } = await res.json();

    const [key] = await redis.keys(sessionKeyPattern());
    const sealed = await redis.hget(key, 'record');
    expect(sealed).toMatch(/^v1\.k1\./);
    // the test holds the key, so it can see what the dump must not show
    const record = openSealedRecord(sealed!, key, oldKey);
    expect(record.accessToken).toBe(providerInfo.accessToken);

    const dump = JSON.stringify((await dumpRedis(redis)).dump);
    const secrets = [
      record.refreshToken,
      record.accessToken,
      record.idToken,
      handle,
      handle.split('.')[1],
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(dump).not.toContain(secret);
      // nor any recognisable part of it
      expect(dump).not.toContain(secret.slice(0, 24));
      expect(dump).not.toContain(secret.slice(-24));
    }
  });

  it('rotating the key keeps old sessions; removing the old key makes them clean 401s', async () => {
    let app = await deployWith([oldKey]);
    const browser = new Browser();
    await signIn(browser, app.authUrl, 'bob');

    // rotation: the new key seals, the old one still opens
    app = await deployWith([nextKey, oldKey]);
    const rotated = await refresh(browser, app.authUrl);
    expect(rotated.status).toBe(200);
    expect(
      (await rotated.json()).backstageIdentity.identity.userEntityRef,
    ).toBe('user:default/bob');
    const bobKeys = [];
    for (const k of await redis.keys(sessionKeyPattern())) {
      if ((await redis.hget(k, 'user')) === 'user:default/bob') {
        bobKeys.push(k);
      }
    }
    expect(bobKeys).toHaveLength(1);
    // the refresh re-sealed the record under the new key
    expect(await redis.hget(bobKeys[0], 'record')).toMatch(/^v1\.k2\./);

    // a session last written under the old key only
    const carol = new Browser();
    await deployWith([oldKey]).then(a => signIn(carol, a.authUrl, 'carol'));

    // the old key removed: carol's session is unreadable, a clean 401 that
    // clears the cookie; bob's (already re-sealed) keeps working
    app = await deployWith([nextKey]);
    const gone = await refresh(carol, app.authUrl);
    expect(gone.status).toBe(401);
    const body = await gone.json();
    expect(body.error.message).toBe(
      'Session not found or expired; sign in again',
    );
    expect(body.error.stack).toBeUndefined();
    expect(gone.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect((await refresh(browser, app.authUrl)).status).toBe(200);
    expect(app.logger.dump()).not.toMatch(/"level":"error"/);
  });
});
