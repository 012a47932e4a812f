import type { Redis } from 'ioredis';
import { SessionStoreUnavailableError } from '../errors';
import { loginKeyId, sessionKeyId } from './sessionHandle';
import type {
  LoginTransaction,
  SessionRecord,
  SessionStore,
  StoredSession,
} from './types';

const RECORD_FIELD = 'record';
const ENTITY_REF_FIELD = 'user';

// Writes into a session hash only while it still exists, so a refresh that
// finishes after a logout cannot resurrect the session (and a key never
// loses its TTL). ARGV[3] = new TTL in ms, or '' to keep the current one.
const HSET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

type ScriptedRedis = Redis & {
  hsetIfExists(
    key: string,
    field: string,
    value: string,
    ttlMs: string,
  ): Promise<number>;
};

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

  constructor(options: { client: Redis; prefix: string }) {
    this.#prefix = options.prefix;
    const client = options.client as ScriptedRedis;
    if (typeof client.hsetIfExists !== 'function') {
      client.defineCommand('hsetIfExists', {
        numberOfKeys: 1,
        lua: HSET_IF_EXISTS,
      });
    }
    this.#redis = client;
  }

  /** The Redis key of a session, for operators and tests. */
  sessionKey(handle: string): string {
    return `${this.#prefix}{${sessionKeyId(handle)}}`;
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
    const raw = fields[RECORD_FIELD];
    if (!raw) {
      return undefined;
    }
    return {
      record: JSON.parse(raw) as SessionRecord,
      entityRef: fields[ENTITY_REF_FIELD] || undefined,
    };
  }

  async createSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<void> {
    const key = this.sessionKey(handle);
    await this.#run('creating the session', async () => {
      const results = await this.#redis
        .multi()
        .hset(key, RECORD_FIELD, JSON.stringify(record))
        .pexpire(key, ttlMs)
        .exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) {
        throw failed?.[0] ?? new Error('transaction aborted');
      }
    });
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<boolean> {
    const updated = await this.#run('updating the session', () =>
      this.#redis.hsetIfExists(
        this.sessionKey(handle),
        RECORD_FIELD,
        JSON.stringify(record),
        String(ttlMs),
      ),
    );
    return updated === 1;
  }

  async setEntityRef(handle: string, entityRef: string): Promise<void> {
    await this.#run('recording the session user', () =>
      this.#redis.hsetIfExists(
        this.sessionKey(handle),
        ENTITY_REF_FIELD,
        entityRef,
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

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SessionStoreUnavailableError(
        `Session store (Redis) unavailable while ${operation}: ${reason}`,
      );
    }
  }
}
