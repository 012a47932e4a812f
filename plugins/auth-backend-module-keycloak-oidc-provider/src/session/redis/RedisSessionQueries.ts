import { parseSessionId, sidKeyId, userTag } from '../sessionHandle';
import type { SessionOwner, SessionQueries, SessionSummary } from '../types';
import { slideIndexes } from './indexWrites';
import { pipelineResults, type RedisExecutor } from './RedisExecutor';
import type { RedisKeyLayout } from './redisKeyLayout';
import type { RedisSessionStore } from './RedisSessionStore';
import { SESSION_FIELDS, USER_AGENT_CHUNKS } from './sessionRecordCodec';

/** Which user tags an owner covers, and the field that narrows them. */
interface OwnerScope {
  tags: string[];
  field: string;
  value: string;
}

/**
 * Sessions by owner and by admin id, for back-channel logout and the admin
 * API. Reads only the plain fields; never opens a token set.
 */
export class RedisSessionQueries implements SessionQueries {
  constructor(
    private readonly deps: {
      redis: RedisExecutor;
      layout: RedisKeyLayout;
      sessions: RedisSessionStore;
      now: () => number;
    },
  ) {}

  async deleteSessionsOf(owner: SessionOwner): Promise<number> {
    const { redis, layout, sessions } = this.deps;
    const { tags, field, value } = await this.#scopeOf(owner);
    let deleted = 0;
    for (const tag of tags) {
      const user = layout.ofUser(tag);
      const [keyIds] = (await redis.write(
        'deleting the sessions of a user',
        pipeline =>
          pipeline.deleteUserSessions(
            user.index,
            user.memberPrefix,
            field,
            value,
          ),
      )) as [string[]];
      await sessions.forgetLive(
        'deleting the sessions of a user',
        keyIds.map(keyId => layout.ofSession(tag, keyId).id),
      );
      deleted += keyIds.length;
    }
    return deleted;
  }

  async listSessions(owner: SessionOwner): Promise<SessionSummary[]> {
    const { redis, layout, now } = this.deps;
    const { tags, field, value } = await this.#scopeOf(owner);
    const summaries: SessionSummary[] = [];
    for (const tag of tags) {
      const user = layout.ofUser(tag);
      const keyIds = await redis.run('listing sessions', () =>
        redis.redis.zrange(user.index, 0, -1),
      );
      if (keyIds.length === 0) {
        continue;
      }
      const pipeline = redis.redis.pipeline();
      for (const keyId of keyIds) {
        const keys = layout.ofSession(tag, keyId);
        pipeline.hmget(
          keys.session,
          SESSION_FIELDS.sub,
          SESSION_FIELDS.entityRef,
          SESSION_FIELDS.createdAt,
          SESSION_FIELDS.refreshedAt,
          SESSION_FIELDS.userAgent,
          SESSION_FIELDS.sid,
          ...USER_AGENT_CHUNKS,
        );
        pipeline.pttl(keys.session);
      }
      const results = await redis.run('listing sessions', async () =>
        pipelineResults(await pipeline.exec()),
      );
      keyIds.forEach((keyId, i) => {
        const [
          sub,
          entityRef,
          createdAt,
          refreshedAt,
          legacyUserAgent,
          sid,
          ...userAgentChunks
        ] = results[2 * i] as (string | null)[];
        const userAgent = userAgentChunks.join('') || legacyUserAgent;
        const pttl = results[2 * i + 1] as number;
        if (!sub || pttl < 0) {
          return; // expired since the index was read
        }
        const matchValue = field === SESSION_FIELDS.sid ? sid : entityRef;
        if (field && matchValue !== value) {
          return;
        }
        summaries.push({
          id: layout.ofSession(tag, keyId).id,
          sub,
          entityRef: entityRef ?? undefined,
          createdAt: Number(createdAt),
          refreshedAt: Number(refreshedAt ?? createdAt),
          expiresAt: now() + pttl,
          userAgent: userAgent ?? undefined,
        });
      });
    }
    return summaries.sort((a, b) => a.createdAt - b.createdAt);
  }

  async countSessions(): Promise<number> {
    const { redis, layout, now } = this.deps;
    const results = await redis.run('counting sessions', async () =>
      pipelineResults(
        await redis.redis
          .pipeline()
          .zremrangebyscore(layout.active(), '-inf', now())
          .zcard(layout.active())
          .exec(),
      ),
    );
    return results[1] as number;
  }

  async deleteSessionById(id: string): Promise<boolean> {
    const parsed = parseSessionId(id);
    return parsed
      ? this.deps.sessions.deleteByKeys(
          this.deps.layout.ofSession(parsed.tag, parsed.keyId),
        )
      : false;
  }

  async extendSessionById(id: string, ttlMs: number): Promise<boolean> {
    const { redis, layout, now } = this.deps;
    const parsed = parseSessionId(id);
    if (!parsed) {
      return false;
    }
    const keys = layout.ofSession(parsed.tag, parsed.keyId);
    // the pointers live in other slots: read which ones this session has
    const [sidId, entityRef] = await redis.run('extending the session', () =>
      redis.redis.hmget(
        keys.session,
        SESSION_FIELDS.sid,
        SESSION_FIELDS.entityRef,
      ),
    );
    const [extended] = await redis.write(
      'extending the session',
      pipeline => pipeline.extendSession(keys.session, keys.index, ttlMs),
      slideIndexes(layout, { id: keys.id, sidId, entityRef }, ttlMs, now()),
    );
    return extended === 1;
  }

  async #scopeOf(owner: SessionOwner): Promise<OwnerScope> {
    const { redis, layout } = this.deps;
    if ('entityRef' in owner) {
      const tags = await redis.run('finding the sessions of a user', () =>
        redis.redis.smembers(layout.entityPointer(owner.entityRef)),
      );
      return { tags, field: SESSION_FIELDS.entityRef, value: owner.entityRef };
    }
    const narrow = owner.sid
      ? { field: SESSION_FIELDS.sid, value: sidKeyId(owner.sid) }
      : { field: '', value: '' };
    if (owner.sub !== undefined) {
      return { tags: [userTag(owner.sub)], ...narrow };
    }
    const tags = await redis.run('finding the sessions of a user', () =>
      redis.redis.smembers(layout.sidPointer(sidKeyId(owner.sid!))),
    );
    return { tags, ...narrow };
  }
}
