import type { ChainableCommander } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { SessionStoreUnavailableError } from '../errors';
import type { Freshness } from '../refresh/freshness';
import type { RedisClient } from './createRedisClient';
import {
  CREATE_SESSION,
  DELETE_SESSION,
  DELETE_USER_SESSIONS,
  EXTEND_SESSION,
  FIELDS,
  POINTER,
  READ_FOR_REFRESH,
  RELEASE_LOCK,
  WRITE_SESSION,
  TRACK_ACTIVE,
} from './redisSessionScripts';
import type { RecordSealer } from './RecordSealer';
import {
  entityKeyId,
  loginKeyId,
  parseSessionId,
  sessionKeyId,
  sidKeyId,
  userTag,
  userTagOfHandle,
} from './sessionHandle';
import type {
  LoginTransaction,
  SessionMetadata,
  SessionOwner,
  SessionRecord,
  SessionStore,
  SessionSummary,
  StoredSession,
} from './types';

const SCRIPTS = {
  createSession: { keys: 2, lua: CREATE_SESSION },
  writeSession: { keys: 3, lua: WRITE_SESSION },
  readForRefresh: { keys: 2, lua: READ_FOR_REFRESH },
  releaseLock: { keys: 1, lua: RELEASE_LOCK },
  deleteUserSessions: { keys: 1, lua: DELETE_USER_SESSIONS },
  deleteOne: { keys: 3, lua: DELETE_SESSION },
  extendSession: { keys: 2, lua: EXTEND_SESSION },
  pointer: { keys: 1, lua: POINTER },
  trackActive: { keys: 1, lua: TRACK_ACTIVE },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptCall = (...keysAndArgs: (string | number)[]) => any;
/** A client or pipeline with the scripts defined as commands. */
type Scripted<T> = T & Record<ScriptName, ScriptCall>;

/** Commands on keys of one slot other than the session's, for a pipeline. */
type SideWrite = (pipeline: Scripted<ChainableCommander>) => void;

const MAX_USER_AGENT_LENGTH = 256;

/** Where one session's keys live: its user's slot and its own key id. */
interface SessionKeys {
  tag: string;
  keyId: string;
  /** the id operators see: `<tag>.<keyId>` */
  id: string;
  session: string;
  lock: string;
  index: string;
  /** what the user's session keys start with (key = memberPrefix + keyId) */
  memberPrefix: string;
}

function pipelineResults(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) {
    throw new Error('transaction aborted');
  }
  const failed = results.find(([error]) => error);
  if (failed) {
    throw failed[0];
  }
  return results.map(([, value]) => value);
}

function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    fields[flat[i]] = flat[i + 1];
  }
  return fields;
}

/**
 * Sessions and login transactions in Redis.
 *
 * Layout (`{…}` is the Redis Cluster hash tag; a user's keys share one):
 * - `<prefix>{u:<tag>}:s:<sha256(handle)>`: hash with the token set
 *   (`record`, sealed when encryption keys are configured) and plain,
 *   token-free fields (entity ref, expiry, hashed `sid`, `sub`, times,
 *   user agent); idle TTL slid on every refresh. `<tag>` is a hash of the
 *   Keycloak `sub`, carried in the handle so no lookup is needed.
 * - `<…>:lock`: the session's refresh lock.
 * - `<prefix>{u:<tag>}:sessions`: sorted set of the user's session key ids
 *   by creation time; for per-user limits, listing and logout by `sub`.
 * - `<prefix>sid:{<sha256(sid)>}`, `<prefix>entity:{<sha256(ref)>}`: sets
 *   of user tags, to find sessions by Keycloak `sid` or entity ref.
 * - `<prefix>active`: sorted set of session ids by expiry, for counting.
 * - `<prefix>login:{<sha256(state)>}`: a pending login, read with GETDEL.
 * - `<prefix>logout-jti:{<sha256(jti)>}`: back-channel logout replay guard.
 *
 * Writes to keys of other slots (pointers, the active set) go in the same
 * pipeline on a single Redis and in parallel on a Cluster.
 *
 * @public
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: Scripted<RedisClient>;
  readonly #prefix: string;
  readonly #replicaWaitMs?: number;
  readonly #sealer?: RecordSealer;
  readonly #now: () => number;
  readonly #lastConnectionError: () => string | undefined;
  readonly #observe?: (operation: string, ms: number, ok: boolean) => void;

  /**
   * `replicaWaitMs`: with durability `replicated`, every session write is
   * followed, in the same round trip, by `WAIT 1 <replicaWaitMs>`; a write
   * no replica acknowledged in time fails as unavailable (it is still on the
   * master, so nothing is lost unless the master dies right then).
   * `sealer`: encrypts token sets at rest.
   */
  constructor(options: {
    client: RedisClient;
    prefix: string;
    replicaWaitMs?: number;
    sealer?: RecordSealer;
    now?: () => number;
    /** Why the connection is down, if it is, for error messages */
    lastConnectionError?: () => string | undefined;
    /** Called after each store operation with its duration */
    observe?: (operation: string, ms: number, ok: boolean) => void;
  }) {
    this.#prefix = options.prefix;
    this.#replicaWaitMs = options.replicaWaitMs;
    this.#sealer = options.sealer;
    this.#now = options.now ?? Date.now;
    this.#observe = options.observe;
    this.#lastConnectionError =
      options.lastConnectionError ?? (() => undefined);
    const client = options.client as Scripted<RedisClient>;
    // ioredis runs them by EVALSHA and loads them when Redis lost them
    // (restart, failover), also inside pipelines.
    if (typeof client.createSession !== 'function') {
      for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) {
        client.defineCommand(name, { numberOfKeys: keys, lua });
      }
    }
    this.#redis = client;
  }

  /** The Redis key of a session, for operators and tests. */
  sessionKey(handle: string): string {
    return this.#keysOf(userTagOfHandle(handle), sessionKeyId(handle)).session;
  }

  #keysOf(tag: string, keyId: string): SessionKeys {
    const memberPrefix = `${this.#prefix}{u:${tag}}:s:`;
    const session = `${memberPrefix}${keyId}`;
    return {
      tag,
      keyId,
      id: `${tag}.${keyId}`,
      session,
      lock: `${session}:lock`,
      index: `${this.#prefix}{u:${tag}}:sessions`,
      memberPrefix,
    };
  }

  #keysOfHandle(handle: string): SessionKeys {
    return this.#keysOf(userTagOfHandle(handle), sessionKeyId(handle));
  }

  #indexOf(tag: string) {
    return this.#keysOf(tag, '');
  }

  #activeKey() {
    return `${this.#prefix}active`;
  }

  #trackActive(
    pipeline: Scripted<ChainableCommander>,
    ttlMs: number,
    id: string,
    mode: '' | 'XX',
  ) {
    const now = this.#now();
    pipeline.trackActive(this.#activeKey(), now, now + ttlMs, id, mode);
  }

  #sidKey(sid: string) {
    return `${this.#prefix}sid:{${sidKeyId(sid)}}`;
  }

  #entityKey(entityRef: string) {
    return `${this.#prefix}entity:{${entityKeyId(entityRef)}}`;
  }

  #loginKey(state: string): string {
    return `${this.#prefix}login:{${loginKeyId(state)}}`;
  }

  async putLoginTransaction(
    state: string,
    transaction: LoginTransaction,
    ttlMs: number,
  ): Promise<void> {
    await this.#run('saving the login transaction', () =>
      this.#redis.set(
        this.#loginKey(state),
        JSON.stringify(transaction),
        'PX',
        ttlMs,
      ),
    );
  }

  async takeLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const raw = await this.#run('reading the login transaction', () =>
      this.#redis.getdel(this.#loginKey(state)),
    );
    return raw ? (JSON.parse(raw) as LoginTransaction) : undefined;
  }

  async getSession(handle: string): Promise<StoredSession | undefined> {
    const keys = this.#keysOfHandle(handle);
    const fields = await this.#run('reading the session', () =>
      this.#redis.hgetall(keys.session),
    );
    return this.#toStoredSession(keys, fields);
  }

  async readForRefresh(
    handle: string,
    options: { leaseMs: number; freshness?: Freshness },
  ): Promise<{ session?: StoredSession; lockToken?: string; fresh?: boolean }> {
    const keys = this.#keysOfHandle(handle);
    const token = randomUUID();
    const [state, flat] = (await this.#run('reading the session', () =>
      this.#redis.readForRefresh(
        keys.session,
        keys.lock,
        token,
        options.leaseMs,
        options.freshness?.accessTokenValidUntil ?? '',
        options.freshness?.confirmedSince ?? '',
      ),
    )) as [number, string[]];
    const session = this.#toStoredSession(keys, fieldsOf(flat));
    if (!session) {
      return { session };
    }
    if (state === 2) {
      return { session, fresh: true };
    }
    return state === 1 ? { session, lockToken: token } : { session };
  }

  async releaseRefreshLock(handle: string, token: string): Promise<void> {
    const keys = this.#keysOfHandle(handle);
    await this.#run('releasing the refresh lock', () =>
      this.#redis.releaseLock(keys.lock, token),
    );
  }

  async createSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    options: { metadata?: SessionMetadata; maxSessionsPerUser?: number } = {},
  ): Promise<{ evicted: number }> {
    const keys = this.#keysOfHandle(handle);
    if (keys.tag !== userTag(record.sub)) {
      throw new Error('session handle was not created for this user');
    }
    const userAgent = options.metadata?.userAgent?.slice(
      0,
      MAX_USER_AGENT_LENGTH,
    );
    const fields = [
      ...this.#recordFields(keys, record),
      FIELDS.sub,
      record.sub,
      FIELDS.createdAt,
      record.createdAt,
      FIELDS.refreshedAt,
      record.refreshedAt,
      ...(record.sid ? [FIELDS.sid, sidKeyId(record.sid)] : []),
      ...(userAgent ? [FIELDS.userAgent, userAgent] : []),
    ];
    const side: SideWrite[] = [p => this.#trackActive(p, ttlMs, keys.id, '')];
    if (record.sid) {
      const sidKey = this.#sidKey(record.sid);
      side.push(p => p.pointer(sidKey, keys.tag, ttlMs));
    }
    const [evicted] = (await this.#write(
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
          ...fields,
        ),
      side,
    )) as [string[]];
    if (evicted.length > 0) {
      await this.#forgetActive(
        'evicting the oldest sessions',
        evicted.map(keyId => this.#keysOf(keys.tag, keyId).id),
      );
    }
    return { evicted: evicted.length };
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    { lockToken, entityRef }: { lockToken?: string; entityRef?: string } = {},
  ): Promise<boolean> {
    const keys = this.#keysOfHandle(handle);
    // Pointers and the active set follow the session's new expiry (a set
    // shared by several sessions lives as long as the longest); ZADD XX so
    // a session deleted meanwhile is not counted again.
    const side: SideWrite[] = [p => this.#trackActive(p, ttlMs, keys.id, 'XX')];
    if (record.sid) {
      const sidKey = this.#sidKey(record.sid);
      side.push(p => p.pointer(sidKey, '', ttlMs));
    }
    if (entityRef) {
      const entityKey = this.#entityKey(entityRef);
      side.push(p => p.pointer(entityKey, '', ttlMs));
    }
    const [written] = await this.#write(
      'updating the session',
      pipeline =>
        pipeline.writeSession(
          keys.session,
          keys.lock,
          keys.index,
          ttlMs,
          '1',
          lockToken ?? '',
          ...this.#recordFields(keys, record),
          FIELDS.refreshedAt,
          record.refreshedAt,
          ...(record.sid ? [FIELDS.sid, sidKeyId(record.sid)] : []),
        ),
      side,
    );
    return written === 1;
  }

  async setEntityRef(handle: string, entityRef: string): Promise<void> {
    const keys = this.#keysOfHandle(handle);
    const ttlMs = await this.#run('recording the session user', async () =>
      Math.max(await this.#redis.pttl(keys.session), 1),
    );
    await this.#write(
      'recording the session user',
      pipeline =>
        pipeline.writeSession(
          keys.session,
          keys.lock,
          keys.index,
          '',
          '1',
          '',
          FIELDS.entityRef,
          entityRef,
        ),
      [p => p.pointer(this.#entityKey(entityRef), keys.tag, ttlMs)],
    );
  }

  async deleteSession(handle: string): Promise<boolean> {
    return this.#deleteOne(this.#keysOfHandle(handle));
  }

  async deleteSessionById(id: string): Promise<boolean> {
    const parsed = parseSessionId(id);
    return parsed
      ? this.#deleteOne(this.#keysOf(parsed.tag, parsed.keyId))
      : false;
  }

  async #deleteOne(keys: SessionKeys): Promise<boolean> {
    const [deleted] = await this.#write(
      'deleting the session',
      pipeline =>
        pipeline.deleteOne(keys.session, keys.lock, keys.index, keys.keyId),
      [p => p.zrem(this.#activeKey(), keys.id)],
    );
    return deleted === 1;
  }

  async deleteSessionsOf(owner: SessionOwner): Promise<number> {
    const { tags, field, value } = await this.#resolveOwner(owner);
    let deleted = 0;
    for (const tag of tags) {
      const index = this.#indexOf(tag);
      const [keyIds] = (await this.#write(
        'deleting the sessions of a user',
        pipeline =>
          pipeline.deleteUserSessions(
            index.index,
            index.memberPrefix,
            field,
            value,
          ),
      )) as [string[]];
      if (keyIds.length > 0) {
        await this.#forgetActive(
          'deleting the sessions of a user',
          keyIds.map(keyId => this.#keysOf(tag, keyId).id),
        );
      }
      deleted += keyIds.length;
    }
    return deleted;
  }

  async listSessions(owner: SessionOwner): Promise<SessionSummary[]> {
    const { tags, field, value } = await this.#resolveOwner(owner);
    const summaries: SessionSummary[] = [];
    for (const tag of tags) {
      const index = this.#indexOf(tag);
      const keyIds = await this.#run('listing sessions', () =>
        this.#redis.zrange(index.index, 0, -1),
      );
      if (keyIds.length === 0) {
        continue;
      }
      const pipeline = this.#redis.pipeline();
      for (const keyId of keyIds) {
        const keys = this.#keysOf(tag, keyId);
        pipeline.hmget(
          keys.session,
          FIELDS.sub,
          FIELDS.entityRef,
          FIELDS.createdAt,
          FIELDS.refreshedAt,
          FIELDS.userAgent,
          FIELDS.sid,
        );
        pipeline.pttl(keys.session);
      }
      const results = await this.#run('listing sessions', async () =>
        pipelineResults(await pipeline.exec()),
      );
      keyIds.forEach((keyId, i) => {
        const [sub, entityRef, createdAt, refreshedAt, userAgent, sid] =
          results[2 * i] as (string | null)[];
        const pttl = results[2 * i + 1] as number;
        if (!sub || pttl < 0) {
          return; // expired since the index was read
        }
        const matchValue = field === FIELDS.sid ? sid : entityRef;
        if (field && matchValue !== value) {
          return;
        }
        summaries.push({
          id: this.#keysOf(tag, keyId).id,
          sub,
          entityRef: entityRef ?? undefined,
          createdAt: Number(createdAt),
          refreshedAt: Number(refreshedAt ?? createdAt),
          expiresAt: this.#now() + pttl,
          userAgent: userAgent ?? undefined,
        });
      });
    }
    return summaries.sort((a, b) => a.createdAt - b.createdAt);
  }

  async countSessions(): Promise<number> {
    const results = await this.#run('counting sessions', async () =>
      pipelineResults(
        await this.#redis
          .pipeline()
          .zremrangebyscore(this.#activeKey(), '-inf', this.#now())
          .zcard(this.#activeKey())
          .exec(),
      ),
    );
    return results[1] as number;
  }

  async extendSessionById(id: string, ttlMs: number): Promise<boolean> {
    const parsed = parseSessionId(id);
    if (!parsed) {
      return false;
    }
    const keys = this.#keysOf(parsed.tag, parsed.keyId);
    // the pointers live in other slots: read which ones this session has
    const [sidId, entityRef] = await this.#run('extending the session', () =>
      this.#redis.hmget(keys.session, FIELDS.sid, FIELDS.entityRef),
    );
    const side: SideWrite[] = [p => this.#trackActive(p, ttlMs, keys.id, 'XX')];
    if (sidId) {
      const sidKey = `${this.#prefix}sid:{${sidId}}`;
      side.push(p => p.pointer(sidKey, '', ttlMs));
    }
    if (entityRef) {
      const entityKey = this.#entityKey(entityRef);
      side.push(p => p.pointer(entityKey, '', ttlMs));
    }
    const [extended] = await this.#write(
      'extending the session',
      pipeline => pipeline.extendSession(keys.session, keys.index, ttlMs),
      side,
    );
    return extended === 1;
  }

  async markLogoutTokenSeen(jti: string, ttlMs: number): Promise<boolean> {
    const key = `${this.#prefix}logout-jti:{${loginKeyId(jti)}}`;
    const result = await this.#run('recording the logout token', () =>
      this.#redis.set(key, '1', 'PX', Math.max(ttlMs, 1), 'NX'),
    );
    return result === 'OK';
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** Which user tags an owner covers and the field that narrows it. */
  async #resolveOwner(
    owner: SessionOwner,
  ): Promise<{ tags: string[]; field: string; value: string }> {
    if ('entityRef' in owner) {
      const tags = await this.#run('finding the sessions of a user', () =>
        this.#redis.smembers(this.#entityKey(owner.entityRef)),
      );
      return { tags, field: FIELDS.entityRef, value: owner.entityRef };
    }
    const narrow = owner.sid
      ? { field: FIELDS.sid, value: sidKeyId(owner.sid) }
      : { field: '', value: '' };
    if (owner.sub !== undefined) {
      return { tags: [userTag(owner.sub)], ...narrow };
    }
    const tags = await this.#run('finding the sessions of a user', () =>
      this.#redis.smembers(this.#sidKey(owner.sid!)),
    );
    return { tags, ...narrow };
  }

  async #forgetActive(operation: string, ids: string[]): Promise<void> {
    await this.#run(operation, () =>
      this.#redis.zrem(this.#activeKey(), ...ids),
    );
  }

  #recordFields(keys: SessionKeys, record: SessionRecord): (string | number)[] {
    const json = JSON.stringify(record);
    return [
      FIELDS.record,
      this.#sealer ? this.#sealer.seal(json, keys.session) : json,
      FIELDS.accessTokenExpiresAt,
      record.accessTokenExpiresAt ?? 0,
    ];
  }

  /**
   * A record we cannot read (sealed under a key that was removed, or
   * tampered with) is a missing session: the user signs in again.
   */
  #toStoredSession(
    keys: SessionKeys,
    fields: Record<string, string>,
  ): StoredSession | undefined {
    const raw = fields[FIELDS.record];
    if (!raw) {
      return undefined;
    }
    let json = raw;
    if (this.#sealer) {
      const opened = this.#sealer.open(raw, keys.session);
      if (!('plaintext' in opened)) {
        return undefined;
      }
      json = opened.plaintext;
    }
    let record: SessionRecord;
    try {
      record = JSON.parse(json) as SessionRecord;
    } catch {
      return undefined; // e.g. sealed, but no encryption keys configured
    }
    return {
      record,
      entityRef: fields[FIELDS.entityRef] || undefined,
    };
  }

  /**
   * Sends a write as one pipeline (one round trip), with `WAIT` appended
   * when durability is `replicated`. `side` writes touch keys of other
   * slots: same pipeline on a single Redis, parallel pipelines on a Cluster
   * (one per side write, each on one slot). Resolves to the write's own
   * results.
   */
  async #write(
    operation: string,
    build: (pipeline: Scripted<ChainableCommander>) => ChainableCommander,
    side: SideWrite[] = [],
  ): Promise<unknown[]> {
    return this.#run(operation, async () => {
      const pipeline = () =>
        this.#redis.pipeline() as Scripted<ChainableCommander>;
      const main = pipeline();
      build(main);
      const own = main.length;
      const cluster = (this.#redis as { isCluster?: boolean }).isCluster;
      const parallel: ChainableCommander[] = [];
      for (const write of side) {
        if (cluster) {
          const separate = pipeline();
          write(separate);
          parallel.push(separate);
        } else {
          write(main);
        }
      }
      if (this.#replicaWaitMs !== undefined) {
        main.wait(1, this.#replicaWaitMs);
      }
      const [results] = await Promise.all(
        [main, ...parallel].map(async p => pipelineResults(await p.exec())),
      );
      if (this.#replicaWaitMs !== undefined) {
        const acknowledged = results[results.length - 1];
        if (acknowledged === 0) {
          throw new Error(
            `no replica acknowledged the write within ${this.#replicaWaitMs} ms (durability: replicated)`,
          );
        }
      }
      return results.slice(0, own);
    });
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.#observe?.(operation, performance.now() - started, true);
      return result;
    } catch (error) {
      this.#observe?.(operation, performance.now() - started, false);
      const reason = error instanceof Error ? error.message : String(error);
      const connection = this.#lastConnectionError();
      throw new SessionStoreUnavailableError(
        `Session store (Redis) unavailable while ${operation}: ${reason}${connection ? ` (connection: ${connection})` : ''}`,
      );
    }
  }
}
