import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConnectionOptions } from '../config/readSessionStoreOptions';

const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * One ioredis client per backend instance. Commands fail fast while the
 * connection is down (no offline queue, bounded command time) so a Redis
 * outage turns into prompt 503s instead of requests that hang, while the
 * client keeps reconnecting with capped backoff in the background.
 */
export function createRedisClient(options: RedisConnectionOptions): Redis {
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: attempt => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    connectionName: 'backstage-keycloak-sessions',
  };
  for (const key of ['host', 'port', 'username', 'password', 'db'] as const) {
    if (options[key] !== undefined) {
      (redisOptions as Record<string, unknown>)[key] = options[key];
    }
  }
  return options.url
    ? new Redis(options.url, redisOptions)
    : new Redis(redisOptions);
}
