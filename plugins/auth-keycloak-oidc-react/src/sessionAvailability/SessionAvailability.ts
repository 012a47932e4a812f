/**
 * What a session depends on, as an outage names it: the backend module's
 * `error.dependency` on a 503 (`keycloak`, `session-store`), `backstage`
 * when the auth backend itself cannot be reached (no answer, or a gateway's
 * 502/504), and `unknown` for a 503 that names nothing.
 *
 * @public
 */
export type SessionDependency =
  'keycloak' | 'session-store' | 'backstage' | 'unknown';

/**
 * Whether the browser's session can be refreshed right now. `unavailable`
 * means the last refresh met an outage: the session is kept (server-side
 * and in the app) and the API retries by itself until `nextRetryAt`.
 *
 * @public
 */
export type SessionAvailability =
  | { status: 'available' }
  | {
      status: 'unavailable';
      dependency: SessionDependency;
      /** When this outage was first seen */
      since: Date;
      /** When the API asks the backend again (it backs off, up to 30 s) */
      nextRetryAt: Date;
    };

/**
 * The session's availability, for the sign-in page and the outage notice:
 * a snapshot and a change subscription (the shape React's
 * `useSyncExternalStore` takes), and a way to retry now.
 *
 * @public
 */
export interface SessionAvailabilityApi {
  /** The current state; the same object until it changes */
  getSessionAvailability(): SessionAvailability;
  /** Calls `listener` after every change; returns the unsubscribe function */
  subscribeToSessionAvailability(listener: () => void): () => void;
  /** Asks the backend again now instead of at `nextRetryAt` */
  retrySessionNow(): void;
}
