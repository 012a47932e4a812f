import type { Redis } from 'ioredis';

async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const stats = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const [, name, count] of stats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (name !== 'info') calls[name] = Number(count);
  }
  return calls;
}

/**
 * The Redis commands `fn` caused, by name (INFO commandstats delta). Redis
 * also counts the commands that scripts run inside EVALSHA.
 */
export async function redisCommandsDuring(
  redis: Redis,
  fn: () => Promise<void>,
): Promise<Record<string, number>> {
  const before = await commandCalls(redis);
  await fn();
  const after = await commandCalls(redis);
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, count]) => [name, count - (before[name] ?? 0)])
      .filter(([, count]) => count !== 0),
  );
}
