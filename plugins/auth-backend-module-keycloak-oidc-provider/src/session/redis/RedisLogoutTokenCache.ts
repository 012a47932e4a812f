import type { LogoutTokenReplayCache } from '../types';
import type { RedisExecutor } from './RedisExecutor';
import type { RedisKeyLayout } from './redisKeyLayout';

/**
 * Back-channel logout token ids seen, shared by every replica, so a token
 * replayed to another replica is refused too. Each entry lives as long as
 * the token would be accepted.
 */
export class RedisLogoutTokenCache implements LogoutTokenReplayCache {
  constructor(
    private readonly deps: { redis: RedisExecutor; layout: RedisKeyLayout },
  ) {}

  async markSeen(jti: string, ttlMs: number): Promise<boolean> {
    const { redis, layout } = this.deps;
    const result = await redis.run('recording the logout token', () =>
      redis.redis.set(
        layout.logoutToken(jti),
        '1',
        'PX',
        Math.max(ttlMs, 1),
        'NX',
      ),
    );
    return result === 'OK';
  }
}
