import { randomUUID } from 'node:crypto';
import { isFresh, type Freshness } from '../../refresh/freshness';
import {
  createSessionHandle,
  loginStateKeyId,
  parseSessionId,
  sessionIdOfHandle,
  userTag,
} from '../sessionHandle';
import type {
  LoginTransaction,
  RefreshRead,
  SessionMetadata,
  SessionOwner,
  SessionQueries,
  SessionRecord,
  SessionStore,
  SessionSummary,
  StoredSession,
} from '../types';
import type { ResolvedIdentity } from '../../signIn/resolvedIdentity';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

interface MemorySession extends StoredSession {
  tag: string;
  userAgent?: string;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Process-local store for development and single-instance setups. Same
 * contract as the Redis store (hashed keys, single-use logins, TTLs,
 * per-user limits), but sessions die with the process and are not shared
 * between replicas. Per-user operations scan every session: fine at
 * development scale.
 */
export class MemorySessionStore implements SessionStore, SessionQueries {
  readonly #logins = new Map<string, Entry<LoginTransaction>>();
  /** by session id (`<tag>.<sha256(handle)>`) */
  readonly #sessions = new Map<string, Entry<MemorySession>>();
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
    maxPending: number,
  ): Promise<boolean> {
    for (const [key] of this.#logins) {
      this.#live(this.#logins, key); // drops the expired ones
    }
    if (this.#logins.size >= maxPending) {
      return false;
    }
    this.#logins.set(loginStateKeyId(state), {
      value: { ...transaction },
      expiresAt: this.#now() + ttlMs,
    });
    return true;
  }

  async peekLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const entry = this.#live(this.#logins, loginStateKeyId(state));
    return entry && { ...entry.value };
  }

  async takeLoginTransaction(
    state: string,
  ): Promise<LoginTransaction | undefined> {
    const key = loginStateKeyId(state);
    const entry = this.#live(this.#logins, key);
    this.#logins.delete(key);
    return entry?.value;
  }

  async getSession(handle: string): Promise<StoredSession | undefined> {
    const entry = this.#live(this.#sessions, sessionIdOfHandle(handle));
    return entry && this.#stored(entry.value);
  }

  async createSession(
    record: SessionRecord,
    ttlMs: number,
    options: { metadata?: SessionMetadata; maxSessionsPerUser?: number } = {},
  ): Promise<{ handle: string; evicted: number }> {
    const handle = createSessionHandle(record.sub);
    const id = sessionIdOfHandle(handle);
    const tag = userTag(record.sub);
    this.#sessions.set(id, {
      value: {
        record: structuredClone(record),
        tag,
        userAgent: options.metadata?.userAgent,
      },
      expiresAt: this.#now() + ttlMs,
    });
    let evicted = 0;
    const max = options.maxSessionsPerUser ?? 0;
    if (max > 0) {
      const others = this.#entriesOf(tag).filter(([other]) => other !== id);
      for (const [other] of others.slice(
        0,
        Math.max(0, others.length + 1 - max),
      )) {
        this.#sessions.delete(other);
        evicted++;
      }
    }
    return { handle, evicted };
  }

  async updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    {
      lockToken,
      identity,
    }: {
      lockToken?: string;
      entityRef?: string;
      identity?: ResolvedIdentity | null;
    } = {},
  ): Promise<boolean> {
    const entry = this.#live(this.#sessions, sessionIdOfHandle(handle));
    if (entry) {
      entry.value.record = structuredClone(record);
      entry.expiresAt = this.#now() + ttlMs;
      if (identity) {
        entry.value.entityRef = identity.claims.sub;
        entry.value.identity = structuredClone(identity);
      } else if (identity === null) {
        entry.value.identity = undefined;
      }
    }
    if (lockToken) {
      await this.releaseRefreshLock(handle, lockToken);
    }
    return !!entry;
  }

  async readForRefresh(
    handle: string,
    options: { leaseMs: number; freshness?: Freshness },
  ): Promise<RefreshRead> {
    const session = await this.getSession(handle);
    if (!session) {
      return { kind: 'missing' };
    }
    if (isFresh(session.record, options.freshness)) {
      return { kind: 'fresh', session };
    }
    const key = sessionIdOfHandle(handle);
    if (this.#live(this.#locks, key)) {
      return { kind: 'lockedByOther', session };
    }
    const lockToken = randomUUID();
    this.#locks.set(key, {
      value: lockToken,
      expiresAt: this.#now() + options.leaseMs,
    });
    return { kind: 'lockedByUs', session, lockToken };
  }

  async releaseRefreshLock(handle: string, token: string): Promise<void> {
    const key = sessionIdOfHandle(handle);
    if (this.#live(this.#locks, key)?.value === token) {
      this.#locks.delete(key);
    }
  }

  async renewRefreshLock(
    handle: string,
    token: string,
    leaseMs: number,
  ): Promise<boolean> {
    const lock = this.#live(this.#locks, sessionIdOfHandle(handle));
    if (lock?.value !== token) {
      return false;
    }
    lock.expiresAt = this.#now() + leaseMs;
    return true;
  }

  async setEntityRef(
    handle: string,
    entityRef: string,
    identity?: ResolvedIdentity,
  ): Promise<void> {
    const entry = this.#live(this.#sessions, sessionIdOfHandle(handle));
    if (entry) {
      entry.value.entityRef = entityRef;
      if (identity) entry.value.identity = structuredClone(identity);
    }
  }

  async deleteSession(handle: string): Promise<boolean> {
    return this.deleteSessionById(sessionIdOfHandle(handle));
  }

  async deleteSessionById(id: string): Promise<boolean> {
    this.#locks.delete(id);
    return !!this.#live(this.#sessions, id) && this.#sessions.delete(id);
  }

  async deleteSessionsOf(owner: SessionOwner): Promise<number> {
    const matches = this.#matching(owner);
    for (const [id] of matches) {
      await this.deleteSessionById(id);
    }
    return matches.length;
  }

  async listSessions(owner: SessionOwner): Promise<SessionSummary[]> {
    return this.#matching(owner).map(([id, entry]) => ({
      id,
      sub: entry.value.record.sub,
      entityRef: entry.value.entityRef,
      createdAt: entry.value.record.createdAt,
      refreshedAt: entry.value.record.refreshedAt,
      expiresAt: entry.expiresAt,
      userAgent: entry.value.userAgent,
    }));
  }

  async countSessions(): Promise<number> {
    this.#sweep();
    return this.#sessions.size;
  }

  async extendSessionById(id: string, ttlMs: number): Promise<boolean> {
    const entry = parseSessionId(id) && this.#live(this.#sessions, id);
    if (entry) {
      entry.expiresAt = this.#now() + ttlMs;
    }
    return !!entry;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #stored(session: MemorySession): StoredSession {
    return structuredClone({
      record: session.record,
      ...(session.entityRef !== undefined && { entityRef: session.entityRef }),
      ...(session.identity !== undefined && { identity: session.identity }),
    });
  }

  /** Live sessions of one user tag, oldest first. */
  #entriesOf(tag: string): [string, Entry<MemorySession>][] {
    return this.#liveSessions()
      .filter(([, entry]) => entry.value.tag === tag)
      .sort(
        ([, a], [, b]) => a.value.record.createdAt - b.value.record.createdAt,
      );
  }

  #matching(owner: SessionOwner): [string, Entry<MemorySession>][] {
    const all = this.#liveSessions().sort(
      ([, a], [, b]) => a.value.record.createdAt - b.value.record.createdAt,
    );
    if ('entityRef' in owner) {
      return all.filter(([, e]) => e.value.entityRef === owner.entityRef);
    }
    return all.filter(
      ([, e]) =>
        (owner.sub === undefined || e.value.record.sub === owner.sub) &&
        (owner.sid === undefined || e.value.record.sid === owner.sid),
    );
  }

  #liveSessions(): [string, Entry<MemorySession>][] {
    this.#sweep();
    return [...this.#sessions];
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
