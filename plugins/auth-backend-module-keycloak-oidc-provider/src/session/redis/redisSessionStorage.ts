import type { RecordCipherKey } from '../RecordCipher';
import type { SessionStorage } from '../types';
import { RedisExecutor, type RedisExecutorOptions } from './RedisExecutor';
import { RedisKeyLayout } from './redisKeyLayout';
import { RedisLogoutTokenCache } from './RedisLogoutTokenCache';
import { RedisSessionQueries } from './RedisSessionQueries';
import { RedisSessionStore } from './RedisSessionStore';
import { SessionRecordCodec } from './sessionRecordCodec';

/** Session storage on one Redis client (standalone, Sentinel or Cluster). */
export function redisSessionStorage(
  options: RedisExecutorOptions & {
    prefix: string;
    /** `encryption.keys`: mixed into every record's key, and open older records */
    serverKeys?: RecordCipherKey[];
    now?: () => number;
  },
): SessionStorage & { sessions: RedisSessionStore; layout: RedisKeyLayout } {
  const redis = new RedisExecutor(options);
  const layout = new RedisKeyLayout(options.prefix);
  const now = options.now ?? Date.now;
  const sessions = new RedisSessionStore({
    redis,
    layout,
    codec: new SessionRecordCodec({ serverKeys: options.serverKeys }),
    now,
  });
  return {
    sessions,
    layout,
    queries: new RedisSessionQueries({ redis, layout, sessions, now }),
    logoutTokens: new RedisLogoutTokenCache({ redis, layout }),
    close: () => redis.close(),
  };
}
