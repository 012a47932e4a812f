import type { Freshness } from '../refresh/freshness';
import type { ResolvedIdentity } from '../signIn/resolvedIdentity';

/**
 * What `start` remembers for the callback: PKCE verifier and OIDC nonce.
 * Single use; lives for a few minutes.
 */
export interface LoginTransaction {
  codeVerifier: string;
  nonce: string;
  /**
   * SHA-256 of the secret in the browser's HttpOnly login cookie: only the
   * browser that started the sign-in can finish it
   */
  browserBinding: string;
  createdAt: number;
}

/**
 * Everything the backend keeps for one signed-in browser. Never sent to the
 * browser; the browser only holds the opaque handle.
 */
export interface SessionRecord {
  /** Keycloak user id */
  sub: string;
  /** Keycloak session id (`sid` claim), when Keycloak sent one */
  sid?: string;
  refreshToken: string;
  accessToken: string;
  idToken?: string;
  tokenType: string;
  scope: string;
  /** epoch ms */
  accessTokenExpiresAt?: number;
  /** epoch ms; from Keycloak's `refresh_expires_in` (absent for offline tokens) */
  refreshTokenExpiresAt?: number;
  /** epoch ms */
  createdAt: number;
  /** epoch ms */
  refreshedAt: number;
  /** epoch ms; hard end of the session (`sessionDuration`), if configured */
  absoluteExpiresAt?: number;
  /** The realm (issuer) and client the session was made for */
  issuer?: string;
  clientId?: string;
  /**
   * Profile claims from the login's ID token and userinfo, so refreshes
   * need no userinfo call (absent in records written before 0.2)
   */
  profile?: ProfileClaims;
}

/**
 * The OIDC standard claims a session keeps about its user.
 */
export interface ProfileClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  preferred_username?: string;
  picture?: string;
}

/**
 * Whose sessions an operation means: a Keycloak user (`sub`), optionally
 * narrowed to one Keycloak session (`sid`), as a back-channel logout token
 * names them; or a Backstage user entity.
 */
export type SessionOwner =
  | { sub: string; sid?: string }
  | { sid: string; sub?: undefined }
  | { entityRef: string };

/**
 * What operators may see of a session: never a token nor the handle.
 */
export interface SessionSummary {
  /** Stable id for the admin API; derived from a hash of the handle */
  id: string;
  sub: string;
  entityRef?: string;
  /** epoch ms */
  createdAt: number;
  /** epoch ms of the last token refresh at Keycloak */
  refreshedAt: number;
  /** epoch ms when the session expires unless refreshed */
  expiresAt: number;
  userAgent?: string;
}

/** Facts about the login recorded with a new session. */
export interface SessionMetadata {
  userAgent?: string;
}

/** A session as the refresh path reads it. */
export interface StoredSession {
  record: SessionRecord;
  /** The Backstage user entity the session signed in as, once resolved */
  entityRef?: string;
  /** What the sign-in resolver last made of the session's user, and when */
  identity?: ResolvedIdentity;
}

/**
 * What the start of a refresh found, in one round trip:
 * - `missing`: no such session (unknown, expired or signed out);
 * - `fresh`: its token set may be served as is (see `isFresh`), no lock taken;
 * - `lockedByUs`: this caller holds the session's refresh lock (`lockToken`)
 *   and should refresh at Keycloak;
 * - `lockedByOther`: another request, on any backend instance, holds it.
 */
export type RefreshRead =
  | { kind: 'missing' }
  | { kind: 'fresh'; session: StoredSession }
  | { kind: 'lockedByUs'; session: StoredSession; lockToken: string }
  | { kind: 'lockedByOther'; session: StoredSession };

/**
 * Login transactions and sessions, as the sign-in and refresh paths use
 * them. Implementations key sessions by a hash of the handle, never by the
 * handle itself, and create the handles.
 */
export interface SessionStore {
  /**
   * Stores a login transaction for `ttlMs`, unless `maxPending` logins were
   * started within the last `ttlMs` (over all clients and replicas): then
   * it stores nothing and returns false.
   */
  putLoginTransaction(
    state: string,
    transaction: LoginTransaction,
    ttlMs: number,
    maxPending: number,
  ): Promise<boolean>;
  /** The login transaction pending for `state`, without consuming it. */
  peekLoginTransaction(state: string): Promise<LoginTransaction | undefined>;
  /** Atomically reads and deletes; a second call for the same state gets nothing. */
  takeLoginTransaction(state: string): Promise<LoginTransaction | undefined>;

  getSession(handle: string): Promise<StoredSession | undefined>;
  /**
   * Creates a new session of `record.sub` under a new handle. With
   * `maxSessionsPerUser`, the user's oldest sessions beyond it are deleted
   * in the same atomic step. Returns the handle, the only way to reach the
   * session, and how many older sessions were evicted.
   */
  createSession(
    record: SessionRecord,
    ttlMs: number,
    options?: { metadata?: SessionMetadata; maxSessionsPerUser?: number },
  ): Promise<{ handle: string; evicted: number }>;
  /**
   * Replaces the record of an existing session and slides its TTL, and the
   * TTLs of the indexes that point to it (its user's, its Keycloak `sid`'s
   * and, given `entityRef`, its Backstage entity's). Returns false, writing
   * nothing, when the session no longer exists (for example it was signed
   * out while a refresh was in flight). With `lockToken`, also releases that
   * refresh lock, and with `identity` records it (null: forgets the stored
   * one), in the same atomic step.
   */
  updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    options?: {
      lockToken?: string;
      entityRef?: string;
      identity?: ResolvedIdentity | null;
    },
  ): Promise<boolean>;
  /**
   * The start of a refresh. Omit `freshness` to never count the session
   * fresh; a lock taken lives for `leaseMs`.
   */
  readForRefresh(
    handle: string,
    options: { leaseMs: number; freshness?: Freshness },
  ): Promise<RefreshRead>;
  /** Releases the lock if `token` still owns it. */
  releaseRefreshLock(handle: string, token: string): Promise<void>;
  /**
   * Extends the lock to `leaseMs` from now if `token` still owns it, for a
   * Keycloak call that outlives the lease; whether it did.
   */
  renewRefreshLock(
    handle: string,
    token: string,
    leaseMs: number,
  ): Promise<boolean>;
  /**
   * Records which user entity the session belongs to and, given, the
   * identity the resolver made of it; keeps the TTL.
   */
  setEntityRef(
    handle: string,
    entityRef: string,
    identity?: ResolvedIdentity,
  ): Promise<void>;
  /** Returns whether a session was deleted. */
  deleteSession(handle: string): Promise<boolean>;
}

/**
 * Operations on sessions by owner or by admin id, for back-channel logout
 * and the admin API. None of them sees a token or a handle.
 */
export interface SessionQueries {
  /**
   * Deletes the sessions of a Keycloak user (`sub`), only those of one
   * Keycloak session when `sid` is given, or of a Backstage entity.
   * Returns how many were deleted.
   */
  deleteSessionsOf(owner: SessionOwner): Promise<number>;
  /** The live sessions of a user, oldest first. */
  listSessions(owner: SessionOwner): Promise<SessionSummary[]>;
  /** How many sessions are live, over all users (no `KEYS`). */
  countSessions(): Promise<number>;
  /** Deletes one session by its summary id; whether it existed. */
  deleteSessionById(id: string): Promise<boolean>;
  /** Sets a session's remaining lifetime; whether it existed. */
  extendSessionById(id: string, ttlMs: number): Promise<boolean>;
}

/** Remembers back-channel logout token ids, so a replayed token is refused. */
export interface LogoutTokenReplayCache {
  /** True the first time `jti` is seen within `ttlMs`, false for a replay. */
  markSeen(jti: string, ttlMs: number): Promise<boolean>;
}

/** The configured storage, as the module wires it. */
export interface SessionStorage {
  sessions: SessionStore;
  queries: SessionQueries;
  logoutTokens: LogoutTokenReplayCache;
  close(): Promise<void>;
}
