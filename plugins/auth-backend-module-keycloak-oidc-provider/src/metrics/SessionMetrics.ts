import type {
  MetricsService,
  MetricsServiceCounter,
  MetricsServiceHistogram,
  MetricsServiceObservableGauge,
  MetricsServiceObservableResult,
} from '@backstage/backend-plugin-api/alpha';

export type LoginOutcome = 'ok' | 'refused' | 'error';
export type RefreshOutcome =
  | 'ok'
  | 'fast_path'
  | 'invalid_grant'
  | 'transient_error'
  | 'session_not_found';
export type BackchannelLogoutOutcome = 'accepted' | 'rejected';

/** Attribute values that are not safe to export become this. */
export const OTHER = 'other';
/** `reason` of an invalid_grant that came without error_description. */
export const UNKNOWN = 'unknown';

/**
 * Keycloak's invalid_grant error_descriptions on the refresh grant; they are
 * kept as they are. Other short plain-text descriptions are kept too, up to
 * MAX_FREE_VALUES distinct ones, so a new Keycloak release still shows up.
 */
const KNOWN_KEYCLOAK_REASONS: readonly string[] = [
  'Session not active',
  'Token is not active',
  'Invalid refresh token',
  'Stale token',
  'Unknown user',
  'User disabled',
  "Session doesn't have required client",
  'Client session not active',
  'Offline session not active',
  'Offline user session not found',
  'Maximum allowed refresh token reuse exceeded',
  'Unmatching clients',
  "Invalid refresh token. Token client and authorized client don't match",
  'Refresh toked issued before the client session started',
];

const MAX_VALUE_LENGTH = 64;
const MAX_FREE_VALUES = 32;
// letters, spaces and light punctuation: no digits, ids, URLs or quotes of input
const SAFE_VALUE = /^[A-Za-z][A-Za-z _.,'-]*$/;

/**
 * Keeps an attribute's value set small: values longer than
 * MAX_VALUE_LENGTH, with characters outside SAFE_VALUE, or beyond the first
 * MAX_FREE_VALUES distinct values not in `known` become `other`.
 */
class BoundedValues {
  readonly #known: ReadonlySet<string>;
  readonly #seen = new Set<string>();

  constructor(known: readonly string[] = []) {
    this.#known = new Set(known);
  }

  normalize(value: string): string {
    const trimmed = value.trim();
    if (this.#known.has(trimmed) || this.#seen.has(trimmed)) return trimmed;
    if (
      trimmed.length > MAX_VALUE_LENGTH ||
      !SAFE_VALUE.test(trimmed) ||
      this.#seen.size >= MAX_FREE_VALUES
    ) {
      return OTHER;
    }
    this.#seen.add(trimmed);
    return trimmed;
  }
}

const noopCounter: MetricsServiceCounter = { add() {} };
const noopHistogram: MetricsServiceHistogram = { record() {} };
const noopObservable: MetricsServiceObservableGauge = {
  addCallback() {},
  removeCallback() {},
};

/** A MetricsService whose instruments record nothing. */
export const noopMetricsService: MetricsService = {
  createCounter: () => noopCounter,
  createUpDownCounter: () => noopCounter,
  createHistogram: () => noopHistogram,
  createGauge: () => noopHistogram,
  createObservableCounter: () => noopObservable,
  createObservableUpDownCounter: () => noopObservable,
  createObservableGauge: () => noopObservable,
};

export const ACTIVE_SESSIONS_TIMEOUT_MS = 2_000;

/**
 * The module's OpenTelemetry instruments, created through Backstage's
 * MetricsService (meter scope `backstage-plugin-auth` by default). Every
 * method is cheap and never throws.
 */
export class SessionMetrics {
  /** Records nothing: for tests and callers without metrics. */
  static noop(): SessionMetrics {
    return new SessionMetrics(noopMetricsService);
  }

  readonly #logins: MetricsServiceCounter<{ outcome: LoginOutcome }>;
  readonly #refreshes: MetricsServiceCounter<{
    outcome: RefreshOutcome;
    reason?: string;
  }>;
  readonly #lockWaits: MetricsServiceCounter;
  readonly #lockWaitDuration: MetricsServiceHistogram;
  readonly #backchannelLogouts: MetricsServiceCounter<{
    outcome: BackchannelLogoutOutcome;
    reason?: string;
  }>;
  readonly #activeSessions: MetricsServiceObservableGauge;
  readonly #redisCommandDuration: MetricsServiceHistogram<{
    operation: string;
    outcome: 'ok' | 'error';
  }>;
  readonly #refreshReasons = new BoundedValues(KNOWN_KEYCLOAK_REASONS);
  readonly #backchannelReasons = new BoundedValues();
  readonly #redisOperations = new BoundedValues();

  constructor(metrics: MetricsService = noopMetricsService) {
    this.#logins = metrics.createCounter('keycloak_oidc.logins', {
      description:
        'Keycloak sign-ins (authorization code callbacks) by outcome: ok, refused (sign-in resolver or user refused), error',
    });
    this.#refreshes = metrics.createCounter('keycloak_oidc.refreshes', {
      description:
        "Session refreshes by outcome; reason is Keycloak's error_description for invalid_grant",
    });
    this.#lockWaits = metrics.createCounter(
      'keycloak_oidc.refresh_lock.waits',
      {
        description:
          "Refreshes that waited for another request's refresh of the same session",
      },
    );
    this.#lockWaitDuration = metrics.createHistogram(
      'keycloak_oidc.refresh_lock.wait_duration',
      {
        description: "Time spent waiting for another request's refresh",
        unit: 'ms',
        advice: {
          explicitBucketBoundaries: [
            1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
          ],
        },
      },
    );
    this.#backchannelLogouts = metrics.createCounter(
      'keycloak_oidc.backchannel_logouts',
      {
        description:
          'OIDC back-channel logout requests by outcome; reason says why one was rejected',
      },
    );
    this.#activeSessions = metrics.createObservableGauge(
      'keycloak_oidc.sessions.active',
      { description: 'Sessions in the session store' },
    );
    this.#redisCommandDuration = metrics.createHistogram(
      'keycloak_oidc.redis.command_duration',
      {
        description: 'Session store commands against Redis',
        unit: 'ms',
        advice: {
          explicitBucketBoundaries: [
            0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
          ],
        },
      },
    );
  }

  login(outcome: LoginOutcome): void {
    this.#logins.add(1, { outcome });
  }

  /**
   * `keycloakReason` (Keycloak's error_description) is recorded only for
   * invalid_grant.
   */
  refresh(outcome: RefreshOutcome, keycloakReason?: string): void {
    if (outcome === 'invalid_grant') {
      this.#refreshes.add(1, {
        outcome,
        reason: keycloakReason
          ? this.#refreshReasons.normalize(keycloakReason)
          : UNKNOWN,
      });
    } else {
      this.#refreshes.add(1, { outcome });
    }
  }

  lockWait(durationMs: number): void {
    this.#lockWaits.add(1);
    this.#lockWaitDuration.record(nonNegative(durationMs));
  }

  backchannelLogout(outcome: BackchannelLogoutOutcome, reason?: string): void {
    const attributes: { outcome: BackchannelLogoutOutcome; reason?: string } = {
      outcome,
    };
    if (reason) attributes.reason = this.#backchannelReasons.normalize(reason);
    this.#backchannelLogouts.add(1, attributes);
  }

  /**
   * Reports `count()` as the active-session gauge at each collection. When
   * it fails or takes longer than `timeoutMs`, that collection has no value.
   * Returns a function that stops the reporting.
   */
  observeActiveSessions(
    count: () => Promise<number>,
    options: { timeoutMs?: number } = {},
  ): () => void {
    const timeoutMs = options.timeoutMs ?? ACTIVE_SESSIONS_TIMEOUT_MS;
    const callback = async (result: MetricsServiceObservableResult) => {
      const value = await withTimeout(count, timeoutMs);
      if (value !== undefined && Number.isFinite(value) && value >= 0) {
        result.observe(value);
      }
    };
    this.#activeSessions.addCallback(callback);
    return () => this.#activeSessions.removeCallback(callback);
  }

  redisCommand(operation: string, durationMs: number, ok: boolean): void {
    this.#redisCommandDuration.record(nonNegative(durationMs), {
      operation: this.#redisOperations.normalize(operation),
      outcome: ok ? 'ok' : 'error',
    });
  }
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Resolves to undefined when `fn` throws, rejects or is too slow. */
async function withTimeout(
  fn: () => Promise<number>,
  timeoutMs: number,
): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise<undefined>(resolve => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
