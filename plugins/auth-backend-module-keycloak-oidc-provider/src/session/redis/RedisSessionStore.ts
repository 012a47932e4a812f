import { randomUUID } from 'node:crypto';
import { SessionStoreUnavailableError } from '../../errors';
import type { Freshness } from '../../refresh/freshness';
import { createSessionHandle, sidKeyId } from '../sessionHandle';
import type {
  LoginTransaction,
  RefreshRead,
  SessionMetadata,
  SessionRecord,
  SessionStore,
  StoredSession,
} from '../types';
import type { ResolvedIdentity } from '../../signIn/resolvedIdentity';
import { slideIndexes } from './indexWrites';
import type {
  RedisExecutor,
  ScriptedPipeline,
  SideWrite,
} from './RedisExecutor';
import type { RedisKeyLayout, SessionKeys } from './redisKeyLayout';
import {
  fieldsOf,
  SESSION_FIELDS,
  type SessionRecordCodec,
} from './sessionRecordCodec';

/** READ_FOR_REFRESH's verdicts (see redisScripts.ts). */
const READ_STATE = { otherHolds: 0, locked: 1, fresh: 2 } as const;

/**
 * Sessions and login transactions in Redis (layout: `RedisKeyLayout`).
 * Writes to keys of other slots (pointers, the live-session set) go in the
 * same round trip as the session's own write (see `RedisExecutor.write`).
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly deps: {
      redis: RedisExecutor;
      layout: RedisKeyLayout;
      codec: SessionRecordCodec;
      now: () => number;
    },
  ) {}

  async putLoginTransaction(
    state: string,
    transaction: LoginTransaction,
    ttlMs: number,
    maxPending: number,
  ): Promise<boolean> {
    const { redis, layout, now } = this.deps;
    const window = Math.floor(now() / ttlMs);
    const counted = await redis.run('saving the login transaction', () =>
      redis.redis.countPendingLogin(
        layout.pendingLogins(window),
        layout.pendingLogins(window - 1),
        maxPending,
        ttlMs,
      ),
    );
    if (counted !== 1) {
      return false;
    }
    await redis.run('saving the login transaction', () =>
      redis.redis.set(
        layout.login(state),
        JSON.stringify(transaction),
        'PX',
        ttlMs,
      ),
    );
    return true;
  }

  async peekLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const { redis, layout } = this.deps;
    const raw = await redis.run('reading the login transaction', () =>
      redis.redis.get(layout.login(state)),
    );
    return raw ? (JSON.parse(raw) as LoginTransaction) : undefined;
  }

  async takeLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const { redis, layout } = this.deps;
    const raw = await redis.run('reading the login transaction', () =>
      redis.redis.getdel(layout.login(state)),
    );
    return raw ? (JSON.parse(raw) as LoginTransaction) : undefined;
  }

  async getSession(handle: string): Promise<StoredSession | undefined> {
    const { redis, layout, codec } = this.deps;
    const keys = layout.ofHandle(handle);
    const flat = (await redis.run('reading the session', () =>
      redis.redis.readSessionBuffer(keys.session),
    )) as Buffer[];
    return codec.decode(keys.session, handle, fieldsOf(flat));
  }

  async readForRefresh(
    handle: string,
    options: { leaseMs: number; freshness?: Freshness },
  ): Promise<RefreshRead> {
    const { redis, layout, codec } = this.deps;
    const keys = layout.ofHandle(handle);
    const lockToken = randomUUID();
    const [state, flat] = (await redis
      .run('reading the session', () =>
        redis.redis.readForRefreshBuffer(
          keys.session,
          keys.lock,
          lockToken,
          options.leaseMs,
          options.freshness?.accessTokenValidUntil ?? '',
          options.freshness?.confirmedSince ?? '',
        ),
      )
      .catch(error => {
        // A read that timed out may still run once Redis gets it (a frozen
        // server, a partition that heals) and take the lock for a whole
        // lease with nobody to use it. The release follows it on the same
        // connection, so it runs right after it; if nothing was sent,
        // neither is this.
        if (error instanceof SessionStoreUnavailableError) {
          this.releaseRefreshLock(handle, lockToken).catch(() => {});
        }
        throw error;
      })) as [number, Buffer[]];
    const session = codec.decode(keys.session, handle, fieldsOf(flat));
    if (!session) {
      if (state === READ_STATE.locked) {
        await this.releaseRefreshLock(handle, lockToken);
      }
      return { kind: 'missing' };
    }
    switch (state) {
      case READ_STATE.fresh:
        return { kind: 'fresh', session };
      case READ_STATE.locked:
        return { kind: 'lockedByUs', session, lockToken };
      default:
        return { kind: 'lockedByOther', session };
    }
  }

  async releaseRefreshLock(handle: string, token: string): Promise<void> {
    const { redis, layout } = this.deps;
    await redis.run('releasing the refresh lock', () =>
      redis.redis.releaseLock(layout.ofHandle(handle).lock, token),
    );
  }

  async renewRefreshLock(
    handle: string,
    token: string,
    leaseMs: number,
  ): Promise<boolean> {
    const { redis, layout } = this.deps;
    const renewed = await redis.run('renewing the refresh lock', () =>
      redis.redis.renewLock(layout.ofHandle(handle).lock, token, leaseMs),
    );
    return renewed === 1;
  }

  async createSession(
    record: SessionRecord,
    ttlMs: number,
    options: { metadata?: SessionMetadata; maxSessionsPerUser?: number } = {},
  ): Promise<{ handle: string; evicted: number }> {
    const { redis, layout, codec, now } = this.deps;
    const handle = createSessionHandle(record.sub);
    const keys = layout.ofHandle(handle);
    const at = now();
    const side: SideWrite[] = [
      p => p.trackActive(layout.active(), at, at + ttlMs, keys.id, ''),
    ];
    if (record.sid) {
      const sidKey = layout.sidPointer(sidKeyId(record.sid));
      side.push(p => p.pointer(sidKey, keys.tag, ttlMs));
    }
    const [evicted] = (await redis.write(
      'creating the session',
      pipeline =>
        pipeline.createSession(
          keys.session,
          keys.index,
          ttlMs,
          record.createdAt,
          keys.keyId,
          options.maxSessionsPerUser ?? 0,
          keys.memberPrefix,
          ...codec.creationFields(
            keys.session,
            handle,
            record,
            options.metadata?.userAgent,
          ),
        ),
      side,
    )) as [string[]];
    await this.forgetLive(
      'evicting the oldest sessions',
      evicted.map(keyId => layout.ofSession(keys.tag, keyId).id),
    );
    return { handle, evicted: evicted.length };
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    {
      lockToken,
      entityRef,
      identity,
    }: {
      lockToken?: string;
      entityRef?: string;
      identity?: ResolvedIdentity | null;
    } = {},
  ): Promise<boolean> {
    const { redis, layout, codec, now } = this.deps;
    const keys = layout.ofHandle(handle);
    const sidId = record.sid && sidKeyId(record.sid);
    const [written] = await redis.write(
      'updating the session',
      pipeline =>
        pipeline.writeSession(
          keys.session,
          keys.lock,
          keys.index,
          ttlMs,
          lockToken ?? '',
          ...codec.tokenFields(keys.session, handle, record),
          ...(identity !== undefined
            ? codec.identityFields(keys.session, handle, identity)
            : []),
        ),
      [
        ...slideIndexes(
          layout,
          { id: keys.id, sidId, entityRef: identity ? undefined : entityRef },
          ttlMs,
          now(),
        ),
        // the entity the resolver just gave may be new (a renamed user, a
        // changed resolver): add the session to its pointer, not only slide
        ...(identity
          ? [
              (p: ScriptedPipeline) =>
                p.pointer(
                  layout.entityPointer(identity.claims.sub),
                  keys.tag,
                  ttlMs,
                ),
            ]
          : []),
      ],
    );
    return written === 1;
  }

  async setEntityRef(
    handle: string,
    entityRef: string,
    identity?: ResolvedIdentity,
  ): Promise<void> {
    const { redis, layout, codec } = this.deps;
    const keys = layout.ofHandle(handle);
    const ttlMs = await redis.run('recording the session user', async () =>
      Math.max(await redis.redis.pttl(keys.session), 1),
    );
    await redis.write(
      'recording the session user',
      pipeline =>
        pipeline.writeSession(
          keys.session,
          keys.lock,
          keys.index,
          '',
          '',
          ...(identity
            ? codec.identityFields(keys.session, handle, {
                ...identity,
                claims: { ...identity.claims, sub: entityRef },
              })
            : [SESSION_FIELDS.entityRef, entityRef]),
        ),
      [p => p.pointer(layout.entityPointer(entityRef), keys.tag, ttlMs)],
    );
  }

  async deleteSession(handle: string): Promise<boolean> {
    return this.deleteByKeys(this.deps.layout.ofHandle(handle));
  }

  /** Deletes one session, its lock and its index entries. */
  async deleteByKeys(keys: SessionKeys): Promise<boolean> {
    const { redis, layout } = this.deps;
    const [deleted] = await redis.write(
      'deleting the session',
      pipeline =>
        pipeline.deleteOne(keys.session, keys.lock, keys.index, keys.keyId),
      [p => p.zrem(layout.active(), keys.id)],
    );
    return deleted === 1;
  }

  /** Drops sessions deleted by a script from the live-session set. */
  async forgetLive(operation: string, ids: string[]): Promise<void> {
    if (ids.length === 0) {
      return;
    }
    const { redis, layout } = this.deps;
    await redis.run(operation, () => redis.redis.zrem(layout.active(), ...ids));
  }
}
