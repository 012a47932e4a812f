import type {
  SessionAvailability,
  SessionDependency,
} from './SessionAvailability';

const AVAILABLE: SessionAvailability = { status: 'available' };

/** The first retry after this, doubling each time up to the maximum */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 30_000;

export interface AvailabilityMonitorOptions {
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** In [0, 1): spreads the retries of many browsers after an outage */
  random?: () => number;
}

/**
 * The session's availability as the last refresh found it, and the retry
 * loop during an outage: while the state is `unavailable` a timer calls
 * `retry` (a refresh at the backend) with exponential backoff and jitter,
 * and that refresh reports the outage again or its end. The app's own
 * refreshes do not reach the backend meanwhile (the connector answers them
 * from the session it has), so an outage costs the backend one request per
 * browser per retry interval.
 */
export class AvailabilityMonitor {
  #state: SessionAvailability = AVAILABLE;
  #failedRetries = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #retrying = false;
  /** Removes the browser event listeners an outage added */
  #stopWatchingBrowser?: () => void;
  readonly #listeners = new Set<() => void>();
  readonly #firstRetryMs: number;
  readonly #maxRetryMs: number;
  readonly #random: () => number;

  constructor(
    private readonly retry: () => Promise<unknown>,
    options: AvailabilityMonitorOptions = {},
  ) {
    this.#firstRetryMs = options.firstRetryMs ?? FIRST_RETRY_MS;
    this.#maxRetryMs = options.maxRetryMs ?? MAX_RETRY_MS;
    this.#random = options.random ?? Math.random;
  }

  get(): SessionAvailability {
    return this.#state;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * A refresh met an outage of `dependency`. The retry already scheduled
   * stands (concurrent refreshes failing together are one failure);
   * otherwise the next one waits twice as long as the last.
   */
  reportOutage(dependency: SessionDependency): void {
    const since =
      this.#state.status === 'unavailable' ? this.#state.since : new Date();
    let nextRetryAt: Date;
    if (this.#timer !== undefined && this.#state.status === 'unavailable') {
      nextRetryAt = this.#state.nextRetryAt;
    } else {
      const delayMs = this.#delayMs(this.#failedRetries++);
      nextRetryAt = new Date(Date.now() + delayMs);
      this.#schedule(delayMs);
    }
    this.#watchBrowser();
    this.#set({ status: 'unavailable', dependency, since, nextRetryAt });
  }

  /** A refresh got an answer that is not an outage (a session, or a 401). */
  reportAvailable(): void {
    this.#cancel();
    this.#stopWatchingBrowser?.();
    this.#stopWatchingBrowser = undefined;
    this.#failedRetries = 0;
    this.#set(AVAILABLE);
  }

  /** Retries at once, unless a retry is already on its way */
  retryNow(): void {
    if (this.#state.status !== 'unavailable' || this.#retrying) {
      return;
    }
    this.#cancel();
    this.#runRetry();
  }

  /**
   * During an outage, a browser back online or a tab shown again (a laptop
   * waking up) retries at once instead of waiting up to the longest
   * backoff.
   */
  #watchBrowser() {
    if (this.#stopWatchingBrowser || typeof window === 'undefined') {
      return;
    }
    const retryNow = () => this.retryNow();
    const retryIfVisible = () => {
      if (document.visibilityState === 'visible') this.retryNow();
    };
    window.addEventListener('online', retryNow);
    document.addEventListener('visibilitychange', retryIfVisible);
    this.#stopWatchingBrowser = () => {
      window.removeEventListener('online', retryNow);
      document.removeEventListener('visibilitychange', retryIfVisible);
    };
  }

  #delayMs(failedRetries: number): number {
    const base = Math.min(
      this.#firstRetryMs * 2 ** failedRetries,
      this.#maxRetryMs,
    );
    // ±20%
    return Math.round(base * (0.8 + 0.4 * this.#random()));
  }

  #schedule(delayMs: number) {
    this.#cancel();
    this.#timer = setTimeout(() => this.#runRetry(), delayMs);
  }

  #runRetry() {
    this.#timer = undefined;
    this.#retrying = true;
    // the refresh reports its own outcome; its rejection is that report's
    this.retry()
      .catch(() => {})
      .finally(() => {
        this.#retrying = false;
      });
  }

  #cancel() {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #set(state: SessionAvailability) {
    if (state === this.#state) {
      return;
    }
    this.#state = state;
    for (const listener of [...this.#listeners]) {
      listener();
    }
  }
}
