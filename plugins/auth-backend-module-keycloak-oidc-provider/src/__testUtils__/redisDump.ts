import type { Redis } from 'ioredis';

/** A key's value whatever its type, for dumps in assertions. */
export async function redisValueOf(redis: Redis, key: string) {
  switch (await redis.type(key)) {
    case 'hash':
      return redis.hgetall(key);
    case 'zset':
      return redis.zrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    default:
      return redis.get(key);
  }
}

/** Every key (by SCAN) and its value. */
export async function dumpRedis(redis: Redis) {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const dump: Record<string, unknown> = {};
  for (const key of keys) {
    dump[key] = await redisValueOf(redis, key);
  }
  return { keys, dump };
}
