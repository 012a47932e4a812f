import {
  entityKeyId,
  loginStateKeyId,
  logoutTokenKeyId,
  sessionKeyId,
  userTagOfHandle,
} from '../sessionHandle';

/** Where one session's keys live: its user's slot and its own key id. */
export interface SessionKeys {
  tag: string;
  keyId: string;
  /** the id operators see: `<tag>.<keyId>` */
  id: string;
  session: string;
  lock: string;
  /** the user's index of session key ids */
  index: string;
  /** what the user's session keys start with (key = memberPrefix + keyId) */
  memberPrefix: string;
}

/**
 * The Redis key layout (`{…}` is the Redis Cluster hash tag; a user's keys
 * share one):
 * - `<prefix>{u:<tag>}:s:<sha256(handle)>`: hash with the token set
 *   (`record`) and plain, token-free fields (see `SESSION_FIELDS`); idle TTL
 *   slid on every refresh. `<tag>` is a hash of the Keycloak `sub`, carried
 *   in the handle so no lookup is needed.
 * - `<…>:lock`: the session's refresh lock.
 * - `<prefix>{u:<tag>}:sessions`: sorted set of the user's session key ids
 *   by creation time; for per-user limits, listing and logout by `sub`.
 * - `<prefix>sid:{<sha256(sid)>}`, `<prefix>entity:{<sha256(ref)>}`: sets
 *   of user tags, to find sessions by Keycloak `sid` or entity ref.
 * - `<prefix>active`: sorted set of session ids by expiry, for counting.
 * - `<prefix>login:{<sha256(state)>}`: a pending login, read with GETDEL.
 * - `<prefix>{logins}:pending:<window>`: logins started in a window of the
 *   login TTL, the budget of pending logins.
 * - `<prefix>logout-jti:{<sha256(jti)>}`: back-channel logout replay guard.
 *
 * No key contains a handle, a token or a raw Keycloak id.
 */
export class RedisKeyLayout {
  constructor(private readonly prefix: string) {}

  ofSession(tag: string, keyId: string): SessionKeys {
    const memberPrefix = `${this.prefix}{u:${tag}}:s:`;
    const session = `${memberPrefix}${keyId}`;
    return {
      tag,
      keyId,
      id: `${tag}.${keyId}`,
      session,
      lock: `${session}:lock`,
      index: `${this.prefix}{u:${tag}}:sessions`,
      memberPrefix,
    };
  }

  ofHandle(handle: string): SessionKeys {
    return this.ofSession(userTagOfHandle(handle), sessionKeyId(handle));
  }

  /** The keys of a user, for its index and member prefix. */
  ofUser(tag: string): SessionKeys {
    return this.ofSession(tag, '');
  }

  /** `sidId` is the stored (hashed) form of a Keycloak `sid`. */
  sidPointer(sidId: string): string {
    return `${this.prefix}sid:{${sidId}}`;
  }

  entityPointer(entityRef: string): string {
    return `${this.prefix}entity:{${entityKeyId(entityRef)}}`;
  }

  active(): string {
    return `${this.prefix}active`;
  }

  login(state: string): string {
    return `${this.prefix}login:{${loginStateKeyId(state)}}`;
  }

  /** The pending-login counter of a window (all in one slot). */
  pendingLogins(window: number): string {
    return `${this.prefix}{logins}:pending:${window}`;
  }

  logoutToken(jti: string): string {
    return `${this.prefix}logout-jti:{${logoutTokenKeyId(jti)}}`;
  }
}
