import { ConfigReader } from '@backstage/config';
import type { JsonValue } from '@backstage/types';
import { readSessionStoreOptions } from './readSessionStoreOptions';

const read = (session: JsonValue) =>
  readSessionStoreOptions(new ConfigReader({ auth: { session } }));

describe('readSessionStoreOptions', () => {
  it('defaults to memory without a redis block', () => {
    expect(readSessionStoreOptions(new ConfigReader({}))).toEqual({
      store: 'memory',
      ttlSeconds: 86400,
      loginTtlSeconds: 600,
    });
  });

  it("reads seed 000's keys with their defaults", () => {
    const options = read({
      secret: 'ignored-here',
      store: 'redis',
      redis: { host: 'redis-master', port: 6379, password: 'pw', db: 2 },
    });
    expect(options).toMatchObject({
      store: 'redis',
      ttlSeconds: 86400,
      prefix: 'backstage:session:',
      redis: { host: 'redis-master', port: 6379, password: 'pw', db: 2 },
    });
  });

  it('takes ttl, prefix, url and username', () => {
    expect(
      read({
        redis: {
          url: 'rediss://cache:6380',
          username: 'backstage',
          ttl: 3600,
          prefix: 'bs:',
        },
      }),
    ).toMatchObject({
      store: 'redis',
      ttlSeconds: 3600,
      prefix: 'bs:',
      redis: { url: 'rediss://cache:6380', username: 'backstage' },
    });
  });

  it('accepts numbers given as strings from environment substitution', () => {
    expect(
      read({ redis: { host: 'h', port: '6380', ttl: '60' } }),
    ).toMatchObject({
      ttlSeconds: 60,
      redis: { port: 6380 },
    });
  });

  it.each([
    [
      { store: 'postgres' },
      "'auth.session.store': must be 'redis' or 'memory'",
    ],
    [{ store: 'redis' }, "'auth.session.redis': is required"],
    [
      { redis: { port: 6379 } },
      "'auth.session.redis': needs either url or host",
    ],
    [
      { redis: { host: 'h', port: 70000 } },
      "'auth.session.redis.port': must be an integer from 1 to 65535",
    ],
    [{ redis: { host: 'h', db: -1 } }, "'auth.session.redis.db'"],
    [{ redis: { host: 'h', ttl: 0 } }, "'auth.session.redis.ttl'"],
    [{ redis: { host: 'h', ttl: 1.5 } }, "'auth.session.redis.ttl'"],
    [
      { redis: { url: 'http://x' } },
      "'auth.session.redis.url': must be a redis:// or rediss:// URL",
    ],
    [{ redis: { host: 'h', prefix: 'a{b}' } }, "'auth.session.redis.prefix'"],
    [{ redis: { host: 'h', port: 'abc' } }, 'auth.session.redis.port'],
  ])('refuses %j naming the key', (session, message) => {
    expect(() => read(session)).toThrow(message);
  });
});
