import type { ChainableCommander } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { SessionStoreUnavailableError } from '../errors';
import type { RedisClient } from './createRedisClient';
import { loginKeyId, sessionKeyId } from './sessionHandle';
import type {
  LoginTransaction,
  SessionRecord,
  SessionStore,
  StoredSession,
} from './types';

const RECORD_FIELD = 'record';
const ENTITY_REF_FIELD = 'user';
// The access token's expiry (epoch ms) in plain form, so the refresh script
// can decide freshness inside Redis without reading the record.
const EXPIRY_FIELD = 'exp';

// Writes one field of a session hash and its TTL atomically, so a key never
// exists without a TTL. With ARGV[4] = '1' it writes only while the session
// still exists, so a refresh that finishes after a logout cannot resurrect
// it. ARGV[3] = new TTL in ms, or '' to keep the current one. ARGV[5] = a
// refresh lock token to release (KEYS[2]) if it still owns the lock, or ''.
// ARGV[6] = the access token expiry to store alongside, or ''.
const HSET_SESSION = `
local written = 0
if ARGV[4] ~= '1' or redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], '${EXPIRY_FIELD}', ARGV[6]) end
  if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  written = 1
end
if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then
  redis.call('DEL', KEYS[2])
end
return written
`;

// The start of every refresh, in one round trip: returns {state, session}
// with state 2 = access token fresh beyond ARGV[3] (no lock taken),
// 1 = refresh lock KEYS[2] taken with token ARGV[1] for ARGV[2] ms,
// 0 = another holder has the lock (or the session is gone).
const READ_FOR_REFRESH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local exp = tonumber(redis.call('HGET', KEYS[1], '${EXPIRY_FIELD}') or '0')
if ARGV[3] ~= '' and exp > tonumber(ARGV[3]) then
  return {2, redis.call('HGETALL', KEYS[1])}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('HGETALL', KEYS[1])}
end
return {0, redis.call('HGETALL', KEYS[1])}
`;

// Deletes the lock only for its owner, so a holder whose lease ran out
// cannot release the next holder's lock.
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type HsetSession<R> = (
  key: string,
  lockKey: string,
  field: string,
  value: string,
  ttlMs: string,
  mustExist: '0' | '1',
  lockToken: string,
  accessTokenExpiresAt: string,
) => R;

type ScriptedRedis = RedisClient & {
  hsetSession: HsetSession<Promise<number>>;
  readForRefresh(
    key: string,
    lockKey: string,
    token: string,
    leaseMs: string,
    freshUntil: string,
  ): Promise<[number, string[]]>;
  releaseLock(lockKey: string, token: string): Promise<number>;
};
type ScriptedPipeline = ChainableCommander & {
  hsetSession: HsetSession<ChainableCommander>;
};

function toStoredSession(
  fields: Record<string, string>,
): StoredSession | undefined {
  const raw = fields[RECORD_FIELD];
  if (!raw) {
    return undefined;
  }
  return {
    record: JSON.parse(raw) as SessionRecord,
    entityRef: fields[ENTITY_REF_FIELD] || undefined,
  };
}

/** Run each pipeline entry's error, or its results in order. */
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

/**
 * Sessions and login transactions in Redis.
 *
 * Layout (every key of one session shares the `{…}` hash tag, so the same
 * code runs on Redis Cluster):
 * - `<prefix>{<sha256(handle)>}`: hash with `record` (token set, JSON) and
 *   `user` (resolved entity ref); idle TTL slid on every refresh.
 * - `<prefix>login:{<sha256(state)>}`: the pending login, read with GETDEL.
 *
 * @public
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #replicaWaitMs?: number;
  readonly #lastConnectionError: () => string | undefined;

  /**
   * `replicaWaitMs`: with durability `replicated`, every session write is
   * followed, in the same round trip, by `WAIT 1 <replicaWaitMs>`; a write
   * no replica acknowledged in time fails as unavailable (it is still on the
   * master, so nothing is lost unless the master dies right then).
   */
  constructor(options: {
    client: RedisClient;
    prefix: string;
    replicaWaitMs?: number;
    /** Why the connection is down, if it is, for error messages */
    lastConnectionError?: () => string | undefined;
  }) {
    this.#prefix = options.prefix;
    this.#replicaWaitMs = options.replicaWaitMs;
    this.#lastConnectionError =
      options.lastConnectionError ?? (() => undefined);
    const client = options.client as ScriptedRedis;
    if (typeof client.hsetSession !== 'function') {
      client.defineCommand('hsetSession', {
        numberOfKeys: 2,
        lua: HSET_SESSION,
      });
      client.defineCommand('readForRefresh', {
        numberOfKeys: 2,
        lua: READ_FOR_REFRESH,
      });
      client.defineCommand('releaseLock', {
        numberOfKeys: 1,
        lua: RELEASE_LOCK,
      });
    }
    this.#redis = client;
  }

  /** The Redis key of a session, for operators and tests. */
  sessionKey(handle: string): string {
    return `${this.#prefix}{${sessionKeyId(handle)}}`;
  }

  #lockKey(handle: string): string {
    return `${this.sessionKey(handle)}:lock`;
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
    const fields = await this.#run('reading the session', () =>
      this.#redis.hgetall(this.sessionKey(handle)),
    );
    return toStoredSession(fields);
  }

  async readForRefresh(
    handle: string,
    options: { leaseMs: number; freshUntil?: number },
  ): Promise<{ session?: StoredSession; lockToken?: string }> {
    const token = randomUUID();
    const [state, flat] = await this.#run('reading the session', () =>
      this.#redis.readForRefresh(
        this.sessionKey(handle),
        this.#lockKey(handle),
        token,
        String(options.leaseMs),
        options.freshUntil === undefined ? '' : String(options.freshUntil),
      ),
    );
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) {
      fields[flat[i]] = flat[i + 1];
    }
    const session = toStoredSession(fields);
    return state === 1 ? { session, lockToken: token } : { session };
  }

  async releaseRefreshLock(handle: string, token: string): Promise<void> {
    await this.#run('releasing the refresh lock', () =>
      this.#redis.releaseLock(this.#lockKey(handle), token),
    );
  }

  async createSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<void> {
    await this.#writeRecord('creating the session', handle, record, ttlMs, {
      mustExist: false,
    });
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    lockToken?: string,
  ): Promise<boolean> {
    return this.#writeRecord('updating the session', handle, record, ttlMs, {
      mustExist: true,
      lockToken,
    });
  }

  async #writeRecord(
    operation: string,
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    options: { mustExist: boolean; lockToken?: string },
  ): Promise<boolean> {
    const [written] = await this.#write(operation, pipeline =>
      (pipeline as ScriptedPipeline).hsetSession(
        this.sessionKey(handle),
        this.#lockKey(handle),
        RECORD_FIELD,
        JSON.stringify(record),
        String(ttlMs),
        options.mustExist ? '1' : '0',
        options.lockToken ?? '',
        String(record.accessTokenExpiresAt ?? 0),
      ),
    );
    return written === 1;
  }

  async setEntityRef(handle: string, entityRef: string): Promise<void> {
    await this.#run('recording the session user', () =>
      this.#redis.hsetSession(
        this.sessionKey(handle),
        this.#lockKey(handle),
        ENTITY_REF_FIELD,
        entityRef,
        '',
        '1',
        '',
        '',
      ),
    );
  }

  async deleteSession(handle: string): Promise<boolean> {
    const deleted = await this.#run('deleting the session', () =>
      this.#redis.del(this.sessionKey(handle)),
    );
    return deleted > 0;
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /**
   * Sends a write as one pipeline (one round trip), with `WAIT` appended
   * when durability is `replicated`. Resolves to the write's own results.
   */
  async #write(
    operation: string,
    build: (pipeline: ChainableCommander) => ChainableCommander,
  ): Promise<unknown[]> {
    return this.#run(operation, async () => {
      const pipeline = build(this.#redis.pipeline());
      if (this.#replicaWaitMs !== undefined) {
        pipeline.wait(1, this.#replicaWaitMs);
      }
      const results = pipelineResults(await pipeline.exec());
      if (this.#replicaWaitMs !== undefined) {
        const acknowledged = results.pop();
        if (acknowledged === 0) {
          throw new Error(
            `no replica acknowledged the write within ${this.#replicaWaitMs} ms (durability: replicated)`,
          );
        }
      }
      return results;
    });
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const connection = this.#lastConnectionError();
      throw new SessionStoreUnavailableError(
        `Session store (Redis) unavailable while ${operation}: ${reason}${connection ? ` (connection: ${connection})` : ''}`,
      );
    }
  }
}
