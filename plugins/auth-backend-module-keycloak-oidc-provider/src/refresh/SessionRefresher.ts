import type { LoggerService } from '@backstage/backend-plugin-api';
import type { JWTPayload } from 'jose';
import {
  KeycloakSessionEndedError,
  KeycloakUnavailableError,
  SessionEndedError,
  SessionStoreUnavailableError,
} from '../errors';
import {
  KeycloakInvalidGrantError,
  type KeycloakOidcClient,
} from '../oidc/KeycloakOidcClient';
import { refreshedSessionRecord } from '../oidc/sessionRecordFromTokens';
import { logText } from '../logging/logText';
import { isBoundTo, type SessionBinding } from '../oidc/sessionBinding';
import { answerWithin } from './answerWithin';
import { freshnessAt } from './freshness';
import { sessionTtlMs } from '../session/sessionTtl';
import type {
  SessionRecord,
  SessionStore,
  StoredSession,
} from '../session/types';
import type { ResolvedIdentity } from '../signIn/resolvedIdentity';

const LOCK_POLL_MS = 50;
/** Retries of a granted refresh's write: 100 ms doubling to 2 s */
const STORE_RETRY_FIRST_MS = 100;
const STORE_RETRY_MAX_MS = 2_000;
/** Clocks and the read that took the lock: trust the lease this much less */
const LEASE_MARGIN_MS = 1_000;

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

/**
 * How long a refresh may hold its lock and keep its browser waiting, and
 * which sessions are this environment's.
 */
export interface RefreshOptions {
  /**
   * Lease of the refresh lock; renewed while Keycloak is being asked. It
   * bounds both how long a holder that died blocks the session's refresh
   * at Keycloak and how long a holder cut off from Redis may keep trying to
   * store what Keycloak granted.
   */
  lockLeaseMs: number;
  /** Where this environment makes sessions; others are missing here */
  binding?: SessionBinding;
  /**
   * The browser gets a 503 after this long; the Keycloak call itself goes on
   * (see KeycloakOidcClient.refresh) and its answer is stored when it comes.
   */
  answerWithinMs: number;
  /**
   * Resolves the user of a token set Keycloak just granted, so that the
   * identity is stored with the tokens, in the same write. Given at most
   * `answerWithinMs`: the tokens are stored without one (forgetting the
   * previous) if it fails or takes longer.
   */
  resolveIdentity?: (
    record: SessionRecord,
    claims: JWTPayload | undefined,
  ) => Promise<ResolvedIdentity | undefined>;
}

/**
 * The refresh lock's lease for a Keycloak call `timeout`: 30 s, or the
 * timeout and 5 s when that is longer. Long enough that a replica cut off
 * from Redis for a while (a partition, a failover) still stores what
 * Keycloak granted before another replica may refresh with the spent
 * token. A holder that died holds up only that session's refreshes that
 * need Keycloak (503, the session kept), and only that long.
 */
export function refreshLockLeaseMs(timeoutMs: number): number {
  return Math.max(30_000, timeoutMs + 5_000);
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
 * A refresh grant Keycloak may have granted is never abandoned: with
 * rotation the token we sent is spent once Keycloak answers, so the call
 * keeps its lock (renewing the lease) and stores its answer even after the
 * browser's request has given up; waiters then use it. A write Redis
 * fails is tried again for as long as the lease holds. What remains is a
 * holder killed mid-call, or cut off from Redis for longer than the lease:
 * its answer is lost, and Keycloak's "Refresh Token Max Reuse"
 * (docs/operations.md) decides whether the next refresh with the old token
 * is still accepted.
 *
 * Redis round trips: 1 when fresh; 2 around the Keycloak call (read and
 * lock in one script, then write and unlock in one script), plus a lease
 * renewal per third of the lease while Keycloak is slow.
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
    refreshOptions: RefreshOptions,
  ): Promise<RefreshOutcome> {
    const { lockLeaseMs } = refreshOptions;
    const { store, now } = this.deps;
    const read = await store.readForRefresh(handle, {
      leaseMs: lockLeaseMs,
      freshness: freshnessAt(now(), this.deps),
    });
    if (
      read.kind !== 'missing' &&
      refreshOptions.binding &&
      !isBoundTo(read.session.record, refreshOptions.binding)
    ) {
      if (read.kind === 'lockedByUs') {
        await store.releaseRefreshLock(handle, read.lockToken);
      }
      throw sessionGone(); // another deployment's: leave it alone
    }
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
          refreshOptions,
        );
      default: {
        const waitStarted = now();
        try {
          return await this.#waitForHolder(
            handle,
            client,
            read.session,
            refreshOptions,
          );
        } finally {
          this.deps.onLockWait?.(now() - waitStarted);
        }
      }
    }
  }

  /**
   * Another request (maybe on another replica) is refreshing: wait for the
   * token set it stores instead of calling Keycloak again. Keep trying the
   * lock too, so a holder that died blocks only for its lease. Wait no
   * longer than the holder's own browser would (`answerWithinMs`): the
   * lease may be far longer, and the browser retries.
   */
  async #waitForHolder(
    handle: string,
    client: KeycloakOidcClient,
    current: StoredSession,
    refreshOptions: RefreshOptions,
  ): Promise<RefreshOutcome> {
    const { store, now } = this.deps;
    const { lockLeaseMs, answerWithinMs } = refreshOptions;
    const seen = current.record.refreshToken;
    const waitUntil = now() + answerWithinMs;
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
          refreshOptions,
        );
      }
      if (now() > waitUntil) {
        throw new KeycloakUnavailableError(
          'Keycloak refresh of this session by another request did not finish in time',
        );
      }
    }
  }

  /** The Keycloak call and its outcome; the browser waits at most `answerWithinMs`. */
  async #refreshUnderLock(
    client: KeycloakOidcClient,
    handle: string,
    lockToken: string,
    session: StoredSession,
    refreshOptions: RefreshOptions,
  ): Promise<RefreshOutcome> {
    const { answerWithinMs } = refreshOptions;
    return answerWithin(
      this.#grant(client, handle, lockToken, session, refreshOptions),
      answerWithinMs,
      () =>
        new KeycloakUnavailableError(
          `Keycloak did not answer the refresh within ${answerWithinMs} ms; its answer will be kept when it arrives`,
        ),
      error =>
        this.deps.logger.info(
          `A Keycloak refresh that outlived its request failed: ${logText(
            (error as Error).message,
          )}`,
        ),
    );
  }

  /** Refreshes at Keycloak under the lock, keeping the lease until done. */
  async #grant(
    client: KeycloakOidcClient,
    handle: string,
    lockToken: string,
    session: StoredSession,
    refreshOptions: RefreshOptions,
  ): Promise<RefreshOutcome> {
    const { lockLeaseMs, binding } = refreshOptions;
    const { store, now } = this.deps;
    const answerBy = now() + refreshOptions.answerWithinMs;
    let released = false;
    // until then no other request can have taken the lock (and refreshed
    // with the token we are spending); the read took it just before
    let leaseHeldUntil = now() + lockLeaseMs - LEASE_MARGIN_MS;
    const renewal = setInterval(
      () => {
        const renewing = now();
        store
          .renewRefreshLock(handle, lockToken, lockLeaseMs)
          .then(renewed => {
            if (renewed)
              leaseHeldUntil = renewing + lockLeaseMs - LEASE_MARGIN_MS;
            else this.#lockLost();
          })
          .catch(() => {});
      },
      Math.max(Math.floor(lockLeaseMs / 3), 20),
    );
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

      const next = refreshedSessionRecord(record, tokens, now(), binding);
      const claims = tokens.claims();
      const identity = await this.#resolveIdentity(
        next,
        claims,
        refreshOptions.resolveIdentity,
        answerBy - now(),
      );
      const saved = await this.#storeGranted(
        () =>
          store.updateSession(
            handle,
            next,
            sessionTtlMs(next, this.deps.idleTtlSeconds, now()),
            {
              lockToken,
              entityRef,
              ...(refreshOptions.resolveIdentity && {
                identity: identity ?? null,
              }),
            },
          ),
        {
          stillOurs: async () => {
            const renewing = now();
            const renewed = await store
              .renewRefreshLock(handle, lockToken, lockLeaseMs)
              .catch(() => undefined);
            if (renewed)
              leaseHeldUntil = renewing + lockLeaseMs - LEASE_MARGIN_MS;
            return renewed;
          },
          heldUntil: () => leaseHeldUntil,
        },
      );
      released = true;
      if (!saved) {
        throw new SessionEndedError(
          'Session was signed out while refreshing; sign in again',
        );
      }
      return {
        session: {
          record: next,
          entityRef: identity?.claims.sub ?? entityRef,
          ...(identity && { identity }),
        },
        claims,
        source: 'keycloak',
      };
    } finally {
      clearInterval(renewal);
      if (!released) {
        await store.releaseRefreshLock(handle, lockToken).catch(() => {});
      }
    }
  }

  /**
   * The user of the tokens Keycloak just granted, resolved while they wait
   * to be stored, so no other write is needed; undefined (and logged) when
   * the resolver fails or takes longer than what is left of the browser's
   * wait (`withinMs`; none left: not tried, the tokens are stored at once):
   * the request resolves again once the tokens are stored.
   */
  async #resolveIdentity(
    record: SessionRecord,
    claims: JWTPayload | undefined,
    resolveIdentity: RefreshOptions['resolveIdentity'],
    withinMs: number,
  ): Promise<ResolvedIdentity | undefined> {
    if (!resolveIdentity || withinMs <= 0) {
      return undefined;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>(resolve => {
      timer = setTimeout(() => resolve(undefined), withinMs);
    });
    try {
      return await Promise.race([resolveIdentity(record, claims), late]);
    } catch (error) {
      this.deps.logger.debug(
        `Resolving the user of a refreshed session failed; the request resolves again: ${logText(
          (error as Error).message,
        )}`,
      );
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Keycloak has granted the refresh: with rotation the token we sent is
   * spent, so these tokens are the session's only future. A write that
   * fails (this replica cut off from Redis, a failover) is tried again
   * while the lease still keeps every other request from refreshing with
   * the spent token, and only while the lock is still ours: a write that
   * landed released it (a `WAIT` no replica acknowledged fails a write
   * that is on the master), and another request may have written newer
   * tokens since. Past the lease the failure stands, logged as what it
   * costs.
   */
  async #storeGranted(
    write: () => Promise<boolean>,
    lock: {
      stillOurs: () => Promise<boolean | undefined>;
      heldUntil: () => number;
    },
  ): Promise<boolean> {
    const { now, logger } = this.deps;
    for (let backoffMs = STORE_RETRY_FIRST_MS; ; backoffMs *= 2) {
      try {
        return await write();
      } catch (error) {
        if (!(error instanceof SessionStoreUnavailableError)) throw error;
        const retryAt = now() + Math.min(backoffMs, STORE_RETRY_MAX_MS);
        if (retryAt >= lock.heldUntil()) {
          logger.error(
            `Keycloak granted a refresh but Redis did not take its tokens within the refresh lock's lease: ${logText(
              error.message,
            )}; with rotation on, the session's next refresh at Keycloak may be refused`,
          );
          throw error;
        }
        await new Promise(r => setTimeout(r, retryAt - now()));
        // false: the write landed, or the lease ran out; unknown: unreachable
        if ((await lock.stillOurs()) === false) throw error;
      }
    }
  }

  #lockLost() {
    this.deps.logger.warn(
      'A Keycloak refresh outlived its refresh lock (a Redis failover or outage); another request may refresh this session with the same token',
    );
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
