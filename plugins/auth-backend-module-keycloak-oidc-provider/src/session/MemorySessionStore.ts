import { randomUUID } from 'node:crypto';
import { loginKeyId, sessionKeyId } from './sessionHandle';
import type {
  LoginTransaction,
  SessionRecord,
  SessionStore,
  StoredSession,
} from './types';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Process-local store for development and single-instance setups. Same
 * contract as the Redis store (hashed keys, single-use logins, TTLs), but
 * sessions die with the process and are not shared between replicas.
 *
 * @public
 */
export class MemorySessionStore implements SessionStore {
  readonly #logins = new Map<string, Entry<LoginTransaction>>();
  readonly #sessions = new Map<string, Entry<StoredSession>>();
  readonly #locks = new Map<string, Entry<string>>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  async putLoginTransaction(
    state: string,
    transaction: LoginTransaction,
    ttlMs: number,
  ): Promise<void> {
    this.#logins.set(loginKeyId(state), {
      value: { ...transaction },
      expiresAt: this.#now() + ttlMs,
    });
  }

  async takeLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const key = loginKeyId(state);
    const entry = this.#live(this.#logins, key);
    this.#logins.delete(key);
    return entry?.value;
  }

  async getSession(handle: string): Promise<StoredSession | undefined> {
    const entry = this.#live(this.#sessions, sessionKeyId(handle));
    return entry && structuredClone(entry.value);
  }

  async createSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<void> {
    this.#sessions.set(sessionKeyId(handle), {
      value: { record: structuredClone(record) },
      expiresAt: this.#now() + ttlMs,
    });
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    lockToken?: string,
  ): Promise<boolean> {
    const entry = this.#live(this.#sessions, sessionKeyId(handle));
    if (entry) {
      entry.value.record = structuredClone(record);
      entry.expiresAt = this.#now() + ttlMs;
    }
    if (lockToken) {
      await this.releaseRefreshLock(handle, lockToken);
    }
    return !!entry;
  }

  async readForRefresh(
    handle: string,
    options: { leaseMs: number; freshUntil?: number },
  ): Promise<{ session?: StoredSession; lockToken?: string }> {
    const session = await this.getSession(handle);
    const expiresAt = session?.record.accessTokenExpiresAt;
    if (
      !session ||
      (options.freshUntil !== undefined &&
        expiresAt !== undefined &&
        expiresAt > options.freshUntil)
    ) {
      return { session };
    }
    const key = sessionKeyId(handle);
    if (this.#live(this.#locks, key)) {
      return { session };
    }
    const lockToken = randomUUID();
    this.#locks.set(key, {
      value: lockToken,
      expiresAt: this.#now() + options.leaseMs,
    });
    return { session, lockToken };
  }

  async releaseRefreshLock(handle: string, token: string): Promise<void> {
    const key = sessionKeyId(handle);
    if (this.#live(this.#locks, key)?.value === token) {
      this.#locks.delete(key);
    }
  }

  async setEntityRef(handle: string, entityRef: string): Promise<void> {
    const entry = this.#live(this.#sessions, sessionKeyId(handle));
    if (entry) {
      entry.value.entityRef = entityRef;
    }
  }

  async deleteSession(handle: string): Promise<boolean> {
    return this.#sessions.delete(sessionKeyId(handle));
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #live<T>(map: Map<string, Entry<T>>, key: string): Entry<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep() {
    for (const map of [this.#logins, this.#sessions, this.#locks] as Map<
      string,
      Entry<unknown>
    >[]) {
      for (const [key] of map) {
        this.#live(map, key);
      }
    }
  }
}
