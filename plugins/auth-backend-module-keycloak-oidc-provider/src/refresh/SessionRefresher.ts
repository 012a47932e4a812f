import type { LoggerService } from '@backstage/backend-plugin-api';
import type { JWTPayload } from 'jose';
import {
  KeycloakSessionEndedError,
  KeycloakUnavailableError,
  SessionEndedError,
} from '../errors';
import {
  KeycloakInvalidGrantError,
  type KeycloakOidcClient,
} from '../oidc/KeycloakOidcClient';
import { refreshedSessionRecord } from '../oidc/sessionRecordFromTokens';
import { logText } from '../logging/logText';
import { freshnessAt } from './freshness';
import { sessionTtlMs } from '../session/sessionTtl';
import type { SessionStore, StoredSession } from '../session/types';

const LOCK_POLL_MS = 50;

export interface RefreshOutcome {
  session: StoredSession;
  /** Claims of a new ID token Keycloak just issued, if it issued one */
  claims?: JWTPayload;
  /**
   * `fresh`: served from the store without calling Keycloak; `keycloak`:
   * this request refreshed at Keycloak; `waited`: another request did and
   * this one used its result.
   */
  source: 'fresh' | 'keycloak' | 'waited';
}

const sessionGone = () =>
  new SessionEndedError('Session not found or expired; sign in again');

/**
 * Refreshes one session's tokens, single-flight across every backend
 * instance. Keycloak rotates refresh tokens and (with "Revoke Refresh
 * Token") ends the session when an old one is reused, so concurrent
 * refreshes of one session (tabs, replicas) must not each call Keycloak:
 * the holder of the session's lock refreshes, the others wait and use the
 * token set it stored. A token set that is still fresh is served as is.
 *
 * Redis round trips: 1 when fresh; 2 around the Keycloak call (read and
 * lock in one script, then write and unlock in one script).
 */
export class SessionRefresher {
  constructor(
    private readonly deps: {
      store: SessionStore;
      logger: LoggerService;
      now: () => number;
      idleTtlSeconds: number;
      minAccessTokenValiditySeconds: number;
      keycloakCheckIntervalSeconds: number;
      /** Called once per request that had to wait for another's refresh */
      onLockWait?: (durationMs: number) => void;
    },
  ) {}

  async refresh(
    handle: string,
    client: KeycloakOidcClient,
    { lockLeaseMs }: { lockLeaseMs: number },
  ): Promise<RefreshOutcome> {
    const { store, now } = this.deps;
    const read = await store.readForRefresh(handle, {
      leaseMs: lockLeaseMs,
      freshness: freshnessAt(now(), this.deps),
    });
    switch (read.kind) {
      case 'missing':
        throw sessionGone();
      case 'fresh':
        return { session: read.session, source: 'fresh' }; // no Keycloak call
      case 'lockedByUs':
        return this.#refreshUnderLock(
          client,
          handle,
          read.lockToken,
          read.session,
        );
      default: {
        const waitStarted = now();
        try {
          return await this.#waitForHolder(handle, client, read.session, {
            lockLeaseMs,
          });
        } finally {
          this.deps.onLockWait?.(now() - waitStarted);
        }
      }
    }
  }

  /**
   * Another request (maybe on another replica) is refreshing: wait for the
   * token set it stores instead of calling Keycloak again. Keep trying the
   * lock too, so a holder that died blocks only for its lease.
   */
  async #waitForHolder(
    handle: string,
    client: KeycloakOidcClient,
    current: StoredSession,
    { lockLeaseMs }: { lockLeaseMs: number },
  ): Promise<RefreshOutcome> {
    const { store, now } = this.deps;
    const seen = current.record.refreshToken;
    const waitUntil = now() + lockLeaseMs + 1000;
    for (;;) {
      await new Promise(r => setTimeout(r, LOCK_POLL_MS));
      const read = await store.readForRefresh(handle, { leaseMs: lockLeaseMs });
      if (read.kind === 'missing') {
        throw sessionGone();
      }
      if (read.session.record.refreshToken !== seen) {
        // the holder stored a new token set: use it
        if (read.kind === 'lockedByUs') {
          await store.releaseRefreshLock(handle, read.lockToken);
        }
        return { session: read.session, source: 'waited' };
      }
      if (read.kind === 'lockedByUs') {
        return this.#refreshUnderLock(
          client,
          handle,
          read.lockToken,
          read.session,
        );
      }
      if (now() > waitUntil) {
        throw new KeycloakUnavailableError(
          'Keycloak refresh of this session by another request did not finish in time',
        );
      }
    }
  }

  async #refreshUnderLock(
    client: KeycloakOidcClient,
    handle: string,
    lockToken: string,
    session: StoredSession,
  ): Promise<RefreshOutcome> {
    const { store, now } = this.deps;
    let released = false;
    try {
      const { record, entityRef } = session;
      let tokens;
      try {
        tokens = await client.refresh(record.refreshToken);
      } catch (error) {
        if (!(error instanceof KeycloakInvalidGrantError)) {
          throw error;
        }
        return await this.#sessionEnded(handle, session, error);
      }

      const next = refreshedSessionRecord(record, tokens, now());
      const saved = await store.updateSession(
        handle,
        next,
        sessionTtlMs(next, this.deps.idleTtlSeconds, now()),
        { lockToken, entityRef },
      );
      released = true;
      if (!saved) {
        throw new SessionEndedError(
          'Session was signed out while refreshing; sign in again',
        );
      }
      return {
        session: { record: next, entityRef },
        claims: tokens.claims(),
        source: 'keycloak',
      };
    } finally {
      if (!released) {
        await store.releaseRefreshLock(handle, lockToken).catch(() => {});
      }
    }
  }

  /**
   * Keycloak's verdict is only about the token we used: if the session
   * moved on meanwhile (a lease ran out), the newer token set wins.
   * Otherwise the session is deleted and the user has to sign in again.
   */
  async #sessionEnded(
    handle: string,
    session: StoredSession,
    error: KeycloakInvalidGrantError,
  ): Promise<RefreshOutcome> {
    const { store, logger } = this.deps;
    const { record, entityRef } = session;
    const current = await store.getSession(handle);
    if (current && current.record.refreshToken !== record.refreshToken) {
      return { session: current, source: 'waited' };
    }
    await store.deleteSession(handle);
    logger.warn(
      `Keycloak ended the session of ${logText(
        entityRef ?? `keycloak user ${record.sub}`,
      )}: invalid_grant "${logText(
        error.description,
      )}"; deleted the server-side session and cleared its refresh cookie, the user has to sign in again`,
      {
        entityRef: entityRef ?? null,
        keycloakSub: record.sub,
        keycloakError: 'invalid_grant',
        keycloakErrorDescription: error.description,
      },
    );
    throw new KeycloakSessionEndedError(error.description);
  }
}
