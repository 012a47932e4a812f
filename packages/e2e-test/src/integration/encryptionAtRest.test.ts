import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { openSealedRecord, readChunked } from '../fixtures/openSealedRecord';
import { dumpRedis } from '../fixtures/redisDump';
import { RedisServer } from '@redis-session/test-support';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

/**
 * Token sets are sealed per session, under a key derived from the session
 * cookie, which the server never stores: nothing to configure, and nothing
 * on the server side (Redis, config, both) opens them.
 */
describe('token sets at rest', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend | undefined;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
  });

  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
    await redis.flushall();
  });

  afterAll(async () => {
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const deploy = (session: object = {}) =>
    startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice', 'bob'],
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix: 'test:session:' },
        ...session,
      },
    });

  it('a SCAN dump of Redis with the whole config, nothing configured, holds no token and no cookie', async () => {
    backend = await deploy();
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const { providerInfo } = await res.json();

    const [key] = await redis.keys(sessionKeyPattern());
    const sealed = await readChunked(redis, key);
    // binary, version 3, sealed by the handle alone
    expect([...sealed.subarray(0, 2)]).toEqual([3, 0]);
    // the test holds the cookie, so it can see what the dump must not show
    const record = openSealedRecord(sealed, key, handle);
    expect(record.accessToken).toBe(providerInfo.accessToken);
    expect(() =>
      openSealedRecord(
        sealed,
        key,
        `${handle.split('.')[0]}.${randomBytes(32).toString('base64url')}`,
      ),
    ).toThrow();

    const everything = JSON.stringify({
      redis: (await dumpRedis(redis)).dump,
      config: backend.config,
    });
    const secrets = [
      record.refreshToken,
      record.accessToken,
      record.idToken,
      handle,
      handle.split('.')[1],
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(everything).not.toContain(secret);
      // nor any recognisable part of it
      expect(everything).not.toContain(secret.slice(0, 24));
      expect(everything).not.toContain(secret.slice(-24));
    }
    // no JWT anywhere, whatever tokens the IdP issues
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.eyJ/);
    expect(backend.logger.dump()).toMatch(
      /set auth\.session\.encryption\.keys to also bind them to this server/,
    );
  });

  it('with encryption.keys, a record also needs the server key: a session planted in Redis is refused', async () => {
    const serverKey = { id: 'k1', secret: randomBytes(32).toString('base64') };
    backend = await deploy({ encryption: { keys: [serverKey] } });
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'bob');
    const [key] = await redis.keys(sessionKeyPattern());
    const sealed = await readChunked(redis, key);
    expect(sealed.subarray(2, 2 + sealed[1]).toString()).toBe('k1');
    const record = openSealedRecord(sealed, key, handle, serverKey);
    expect(() => openSealedRecord(sealed, key, handle)).toThrow();
    expect(backend.logger.dump()).not.toMatch(
      /set auth\.session\.encryption\.keys to also bind them/,
    );
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    // someone with write access to Redis (not to the config) replaces the
    // record with one of their own: refused as a missing session
    // (as a version before the chunks stored it, which is still read)
    await redis.hset(key, 'k0', '', 'record', JSON.stringify(record));
    const planted = await refresh(browser, backend.authUrl);
    expect(planted.status).toBe(401);
  });
});
