import type { Redis } from 'ioredis';

/** Exact `MEMORY USAGE` (every field counted, not sampled). */
export async function memoryUsage(redis: Redis, key: string): Promise<number> {
  return Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}
