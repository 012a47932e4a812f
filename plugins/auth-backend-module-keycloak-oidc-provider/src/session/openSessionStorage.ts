import type { LoggerService } from '@backstage/backend-plugin-api';
import type { SessionStoreOptions } from '../config/readSessionStoreOptions';
import { SessionMetrics } from '../metrics/SessionMetrics';
import { memorySessionStorage } from './memory/memorySessionStorage';
import { createRedisClient } from './redis/createRedisClient';
import { redisSessionStorage } from './redis/redisSessionStorage';
import type { SessionStorage } from './types';

/** Where the store connects, for log lines (never credentials). */
function describeTarget(options: SessionStoreOptions & { store: 'redis' }) {
  const redis = options.redis;
  const list = (nodes: { host: string; port: number }[]) =>
    nodes.map(n => `${n.host}:${n.port}`).join(',');
  switch (redis.mode) {
    case 'sentinel':
      return `master '${redis.name}' via sentinels ${list(redis.sentinels)}`;
    case 'cluster':
      return `cluster ${list(redis.nodes)}`;
    default:
      if (redis.url) {
        const parsed = new URL(redis.url);
        parsed.password = '';
        parsed.username = '';
        return parsed.href;
      }
      return `${redis.host}:${redis.port ?? 6379}/${redis.db ?? 0}`;
  }
}

/**
 * Opens the configured store. A Redis that is down at startup does not stop
 * the backend: the failure is logged once, auth routes answer 503 naming the
 * session store, and the client reconnects by itself. There is no silent
 * fall-back to memory when Redis is configured.
 */
export async function openSessionStorage(
  options: SessionStoreOptions,
  logger: LoggerService,
  metrics: SessionMetrics = SessionMetrics.noop(),
): Promise<SessionStorage> {
  if (options.store === 'memory') {
    logger.info(
      'keycloak-oidc sessions are kept in memory: they are lost on restart and not shared between replicas; set auth.session.store to redis for production',
    );
    return memorySessionStorage();
  }

  const serverKeys = options.encryption?.keys;
  if (!serverKeys) {
    logger.info(
      'keycloak-oidc token sets are sealed per session under a key only their cookie gives; set auth.session.encryption.keys to also bind them to this server, so that write access to Redis is not enough to plant a session',
    );
  }
  const target = describeTarget(options);
  const client = createRedisClient(options.redis);
  let healthy = false;
  // The cause of an outage arrives as an 'error' event (TLS, auth, refused);
  // commands only see "connection closed", so keep it for messages.
  let lastConnectionError: string | undefined;
  client.on('ready', () => {
    healthy = true;
    lastConnectionError = undefined;
    logger.info(`keycloak-oidc session store connected to Redis at ${target}`);
  });
  client.on('error', (error: Error) => {
    lastConnectionError = error.message;
    // One line per outage, not one per reconnect attempt.
    if (healthy) {
      healthy = false;
      logger.error(
        `keycloak-oidc session store lost Redis at ${target}: ${error.message}; auth routes answer 503 until it is back`,
      );
    }
  });
  // writes wait for a replica on a connection of their own (RedisExecutor)
  const writeClient =
    options.durability === 'replicated'
      ? createRedisClient(options.redis)
      : undefined;
  // its outages are the main connection's, reported there
  writeClient?.on('error', () => {});
  try {
    await Promise.all([client.connect(), writeClient?.connect()]);
  } catch (error) {
    logger.error(
      `keycloak-oidc session store cannot reach Redis at ${target}: ${lastConnectionError ?? (error as Error).message}; auth routes answer 503 until it is reachable, retrying in the background`,
    );
  }
  return redisSessionStorage({
    client,
    writeClient,
    prefix: options.prefix,
    serverKeys,
    observe: (operation, ms, ok) => metrics.redisCommand(operation, ms, ok),
    lastConnectionError: () => (healthy ? undefined : lastConnectionError),
    replicaWaitMs:
      options.durability === 'replicated'
        ? Math.ceil(options.redis.commandTimeoutMs / 2)
        : undefined,
  });
}
