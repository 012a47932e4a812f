import { createRedisClient } from '../session/redis/createRedisClient';
import { redisSessionStorage } from '../session/redis/redisSessionStorage';

/** A connected client to a test redis-server, as the module makes them. */
export async function connectedRedis(url: string) {
  const client = createRedisClient({
    mode: 'standalone',
    url,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 1000,
  });
  await client.connect();
  return client;
}

/** The module's storage on a test redis-server, under `prefix`. */
export async function redisStorageAt(
  url: string,
  prefix: string,
  options: Omit<
    Parameters<typeof redisSessionStorage>[0],
    'client' | 'prefix'
  > = {},
) {
  const client = await connectedRedis(url);
  return {
    client,
    storage: redisSessionStorage({ client, prefix, ...options }),
  };
}
