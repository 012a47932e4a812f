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
      loginTtlSeconds: 300,
      maxPendingLogins: 10_000,
      dangerouslyAllowInsecureProduction: false,
      minAccessTokenValiditySeconds: 240,
      keycloakCheckIntervalSeconds: 60,
      // the Keycloak check's window unless told otherwise
      identityCacheSeconds: 60,
      // bounded by default: every per-user script walks at most this many
      maxSessionsPerUser: 10,
      adminPrincipals: [],
    });
  });

  it('reuses a resolved identity for the Keycloak check interval, or as told', () => {
    expect(read({ keycloakCheckInterval: 30 })).toMatchObject({
      identityCacheSeconds: 30,
    });
    expect(
      read({ keycloakCheckInterval: 30, identityCacheTtl: 0 }),
    ).toMatchObject({
      keycloakCheckIntervalSeconds: 30,
      identityCacheSeconds: 0,
    });
    // never longer than its own maximum, whatever the Keycloak check's
    expect(read({ keycloakCheckInterval: 7200 })).toMatchObject({
      identityCacheSeconds: 3600,
    });
    expect(() => read({ identityCacheTtl: 3601 })).toThrow(
      "Invalid config at 'auth.session.identityCacheTtl': must be an integer from 0 to 3600, got 3601",
    );
  });

  it('reads the per-user limit and the admin principals', () => {
    expect(
      read({
        maxSessionsPerUser: 3,
        admin: { allow: ['User:default/Alice', 'ops-cli'] },
      }),
    ).toMatchObject({
      maxSessionsPerUser: 3,
      adminPrincipals: ['user:default/alice', 'ops-cli'],
    });
    for (const unbounded of [-1, 0, 1001]) {
      expect(() => read({ maxSessionsPerUser: unbounded })).toThrow(
        `Invalid config at 'auth.session.maxSessionsPerUser': must be an integer from 1 to 1000, got ${unbounded}`,
      );
    }
    expect(() => read({ admin: { allow: ['two words'] } })).toThrow(
      "Invalid config at 'auth.session.admin.allow': 'two words' is not an entity ref or service subject",
    );
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

  it("reads Sentinel settings (seed 000's sentinels and name)", () => {
    expect(
      read({
        redis: {
          sentinels: [
            { host: 'redis-sentinel', port: 26379 },
            { host: 'other' },
          ],
          name: 'mymaster',
          password: 'pw',
          sentinelPassword: 'spw',
          sentinelUsername: 'sentinel-user',
          durability: 'replicated',
        },
      }),
    ).toMatchObject({
      durability: 'replicated',
      redis: {
        mode: 'sentinel',
        sentinels: [
          { host: 'redis-sentinel', port: 26379 },
          { host: 'other', port: 6379 },
        ],
        name: 'mymaster',
        password: 'pw',
        sentinelPassword: 'spw',
        sentinelUsername: 'sentinel-user',
      },
    });
  });

  it('reads Cluster nodes, timeouts and inline TLS material', () => {
    const pem =
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(
      read({
        redis: {
          cluster: {
            nodes: [
              { host: 'c1', port: 7000 },
              { host: 'c2', port: 7001 },
            ],
          },
          connectTimeout: 1000,
          commandTimeout: 500,
          tls: {
            ca: pem,
            servername: 'redis.internal',
            rejectUnauthorized: false,
          },
        },
      }),
    ).toMatchObject({
      durability: 'none',
      redis: {
        mode: 'cluster',
        nodes: [
          { host: 'c1', port: 7000 },
          { host: 'c2', port: 7001 },
        ],
        connectTimeoutMs: 1000,
        commandTimeoutMs: 500,
        tls: {
          ca: pem,
          servername: 'redis.internal',
          rejectUnauthorized: false,
        },
      },
    });
  });

  it('verifies TLS by default for rediss:// URLs', () => {
    expect(read({ redis: { url: 'rediss://cache:6380' } })).toMatchObject({
      redis: { mode: 'standalone', tls: { rejectUnauthorized: true } },
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
      "'auth.session.redis': needs one of url, host, sentinels or cluster",
    ],
    [
      {
        redis: {
          host: 'h',
          sentinels: [{ host: 's', port: 26379 }],
          name: 'm',
        },
      },
      "'auth.session.redis': set only one of url/host, sentinels or cluster",
    ],
    [
      { redis: { sentinels: [{ host: 's', port: 26379 }] } },
      "'auth.session.redis.name': is required with sentinels",
    ],
    [
      { redis: { sentinels: [], name: 'm' } },
      "'auth.session.redis.sentinels': needs at least one node",
    ],
    [
      { redis: { cluster: { nodes: [{ host: 'a', port: 70000 }] } } },
      "'auth.session.redis.cluster.nodes[0].port'",
    ],
    [
      { redis: { cluster: { nodes: [{ host: 'a', port: 7000 }] }, db: 2 } },
      "'auth.session.redis.db': Redis Cluster only has db 0",
    ],
    [
      { redis: { host: 'h', durability: 'always' } },
      "'auth.session.redis.durability': must be 'none' or 'replicated'",
    ],
    [
      { redis: { host: 'h', commandTimeout: 0 } },
      "'auth.session.redis.commandTimeout'",
    ],
    [
      { redis: { host: 'h', tls: { ca: '/no/such/ca.pem' } } },
      "'auth.session.redis.tls.ca': cannot read file '/no/such/ca.pem'",
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
