import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type {
  RedisConnectionOptions,
  RedisTlsOptions,
} from '../../config/readRedisConnectionOptions';

const MAX_RECONNECT_DELAY_MS = 2000;

/** Either client shape the store can use; both run the same commands. */
export type RedisClient = Redis | Cluster;

const reconnectDelay = (attempt: number) =>
  Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);

function tlsOptions(
  tls: RedisTlsOptions | undefined,
): ConnectionOptions | undefined {
  if (!tls) {
    return undefined;
  }
  return Object.fromEntries(
    Object.entries(tls).filter(([, value]) => value !== undefined),
  ) as ConnectionOptions;
}

/**
 * One ioredis client per backend instance, for a standalone Redis, a
 * Sentinel-managed master or a Cluster. Commands fail fast while the
 * connection is down (no offline queue, bounded command time) so an outage
 * turns into prompt 503s instead of requests that hang, while the client
 * keeps reconnecting with capped backoff in the background.
 */
export function createRedisClient(
  options: RedisConnectionOptions,
): RedisClient {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    connectionName: 'backstage-keycloak-sessions',
    username: options.username,
    password: options.password,
    tls: tlsOptions(options.tls),
  };

  switch (options.mode) {
    case 'cluster':
      return new Cluster(options.nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        slotsRefreshTimeout: options.connectTimeoutMs,
        redisOptions: {
          ...common,
          // per-node settings; the cluster client owns retries and queueing
          lazyConnect: undefined,
          enableOfflineQueue: undefined,
        } as RedisOptions,
      });
    case 'sentinel':
      return new Redis({
        ...common,
        retryStrategy: reconnectDelay,
        sentinels: options.sentinels,
        name: options.name,
        sentinelUsername: options.sentinelUsername,
        sentinelPassword: options.sentinelPassword,
        sentinelRetryStrategy: reconnectDelay,
        enableTLSForSentinelMode: !!options.tls,
        db: options.db,
      });
    default: {
      const standalone: RedisOptions = {
        ...common,
        retryStrategy: reconnectDelay,
      };
      for (const key of ['host', 'port', 'db'] as const) {
        if (options[key] !== undefined) {
          (standalone as Record<string, unknown>)[key] = options[key];
        }
      }
      for (const key of ['username', 'password', 'tls'] as const) {
        if (standalone[key] === undefined) {
          delete standalone[key];
        }
      }
      return options.url
        ? new Redis(options.url, standalone)
        : new Redis(standalone);
    }
  }
}
