/**
 * What `start` remembers for the callback: PKCE verifier and OIDC nonce.
 * Single use; lives for a few minutes.
 *
 * @public
 */
export interface LoginTransaction {
  codeVerifier: string;
  nonce: string;
  createdAt: number;
}

/**
 * Everything the backend keeps for one signed-in browser. Never sent to the
 * browser; the browser only holds the opaque handle.
 *
 * @public
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
}

/** @public */
export interface StoredSession {
  record: SessionRecord;
  /** The Backstage user entity the session signed in as, once resolved */
  entityRef?: string;
}

/**
 * Server-side storage for login transactions and sessions. Implementations
 * key sessions by a hash of the handle, never by the handle itself.
 *
 * @public
 */
export interface SessionStore {
  putLoginTransaction(
    state: string,
    transaction: LoginTransaction,
    ttlMs: number,
  ): Promise<void>;
  /** Atomically reads and deletes; a second call for the same state gets nothing. */
  takeLoginTransaction(state: string): Promise<LoginTransaction | undefined>;

  getSession(handle: string): Promise<StoredSession | undefined>;
  /** Creates a new session. */
  createSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
  ): Promise<void>;
  /**
   * Replaces the record of an existing session and slides its TTL. Returns
   * false, writing nothing, when the session no longer exists (for example
   * it was signed out while a refresh was in flight). With `lockToken`, also
   * releases that refresh lock, in the same atomic step.
   */
  updateSession(
    handle: string,
    record: SessionRecord,
    ttlMs: number,
    lockToken?: string,
  ): Promise<boolean>;
  /**
   * One round trip at the start of a refresh. Returns the session, and:
   * nothing more when its access token is valid until after `freshUntil`
   * (epoch ms; omit to never count it fresh); otherwise a `lockToken` when
   * this caller took the session's refresh lock for `leaseMs`, or no token
   * when another holder (any backend instance) has it.
   */
  readForRefresh(
    handle: string,
    options: { leaseMs: number; freshUntil?: number },
  ): Promise<{ session?: StoredSession; lockToken?: string }>;
  /** Releases the lock if `token` still owns it. */
  releaseRefreshLock(handle: string, token: string): Promise<void>;
  /** Records which user entity the session belongs to; keeps the TTL. */
  setEntityRef(handle: string, entityRef: string): Promise<void>;
  /** Returns whether a session was deleted. */
  deleteSession(handle: string): Promise<boolean>;
  close(): Promise<void>;
}
