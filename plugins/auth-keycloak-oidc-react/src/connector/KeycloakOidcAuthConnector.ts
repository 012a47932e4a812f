import {
  openLoginPopup,
  type AuthConnector,
  type AuthConnectorCreateSessionOptions,
  type AuthConnectorRefreshSessionOptions,
  type OAuth2Session,
} from '@backstage/core-app-api';
import type {
  AuthProviderInfo,
  DiscoveryApi,
  OAuthRequestApi,
} from '@backstage/frontend-plugin-api';
import {
  AvailabilityMonitor,
  type AvailabilityMonitorOptions,
} from '../sessionAvailability/AvailabilityMonitor';
import type { SessionDependency } from '../sessionAvailability/SessionAvailability';
import { refreshOutcomeOf, type RefreshOutcome } from './refreshOutcome';
import { toOAuth2Session, type ClientAuthResponse } from './toOAuth2Session';

/** A Backstage token this close to its expiry is not served during an outage */
const TOKEN_EXPIRY_MARGIN_MS = 5_000;

/**
 * How long the session a successful retry fetched answers the app's next
 * refresh, so the sign-in page coming back after an outage does not ask the
 * backend a second time.
 */
const RETRIED_SESSION_FRESH_MS = 5_000;

/**
 * An outage, under the name core-app-api's session manager keeps a session
 * for: `RefreshingAuthSessionManager` (core-app-api
 * src/lib/AuthSessionManager/RefreshingAuthSessionManager.ts) drops the
 * session, and then asks for a new sign-in ("Login Required"), on every
 * refresh error except one that `isAuthConnectionError` recognises, which
 * it checks by this name.
 */
export class SessionUnavailableError extends Error {
  override readonly name = 'AuthConnectionError';
  constructor(readonly dependency: SessionDependency) {
    super(`The session cannot be refreshed now: ${dependency} is unavailable`);
  }
}

export interface KeycloakOidcAuthConnectorOptions {
  discoveryApi: DiscoveryApi;
  oauthRequestApi: OAuthRequestApi;
  provider: AuthProviderInfo & { id: string };
  /** `auth.environment`: which of the provider's environments to use */
  environment: string;
  /** `enableExperimentalRedirectFlow`: sign in by redirect, not popup */
  redirectFlow: boolean;
  retry?: AvailabilityMonitorOptions;
}

/**
 * The keycloak-oidc provider's auth connector: the popup (or redirect)
 * sign-in, the refresh and the sign-out against the backend module, as
 * core-app-api's DefaultAuthConnector does them, except that a refresh
 * which meets an outage (a 503 from the module, a gateway's 502/504, or no
 * answer) keeps the session: it answers with the session the app already
 * has while that session's Backstage token is valid, and otherwise fails as
 * a connection error, which the session manager passes on without signing
 * the user out. The availability it reports drives the outage notices and
 * the retries.
 *
 * Why a connector of our own: DefaultAuthConnector (core-app-api
 * src/lib/AuthConnector/DefaultAuthConnector.ts) is not exported and turns
 * every non-OK `/refresh` into a plain Error without its body, so an outage
 * cannot be told from a signed-out user. `OAuth2.create({ authConnector })`
 * is the seam core-app-api offers for this; the sign-in popup is its public
 * `openLoginPopup`, and "Login Required" its `OAuthRequestApi`.
 */
export class KeycloakOidcAuthConnector implements AuthConnector<OAuth2Session> {
  readonly availability: AvailabilityMonitor;
  /** The last session the backend gave, kept to answer during an outage */
  #session?: OAuth2Session;
  #scopes?: Set<string>;
  /** Until when #session, fetched by a retry, answers the next refresh */
  #retriedSessionFreshUntil = 0;
  /**
   * Bumped by sign-in and sign-out: an answer to a refresh that started
   * before is about a session the app no longer has, and is dropped.
   */
  #generation = 0;
  readonly #requestSignIn: (scopes: Set<string>) => Promise<OAuth2Session>;

  constructor(private readonly options: KeycloakOidcAuthConnectorOptions) {
    this.availability = new AvailabilityMonitor(
      () => this.#retry(),
      options.retry,
    );
    this.#requestSignIn = options.oauthRequestApi.createAuthRequester({
      provider: options.provider,
      onAuthRequest: scopes => this.#signIn(scopes),
    });
  }

  async createSession(
    options: AuthConnectorCreateSessionOptions,
  ): Promise<OAuth2Session> {
    return options.instantPopup
      ? this.#signIn(options.scopes)
      : this.#requestSignIn(options.scopes);
  }

  async refreshSession(
    options?: AuthConnectorRefreshSessionOptions,
  ): Promise<OAuth2Session> {
    const scopes = options?.scopes;
    const availability = this.availability.get();
    if (availability.status === 'unavailable') {
      // the retry loop is asking the backend; the app waits for it
      return this.#duringOutage(availability.dependency, scopes);
    }
    if (Date.now() < this.#retriedSessionFreshUntil && this.#session) {
      this.#retriedSessionFreshUntil = 0;
      if (hasScopes(this.#session, scopes)) {
        return this.#session;
      }
    }
    return this.#refreshAtBackend(scopes);
  }

  async removeSession(): Promise<void> {
    // forgotten whether or not the backend can be told: a sign-out during
    // an outage must not leave the session to be served again
    this.#forget();
    const res = await fetch(await this.#url('/logout'), {
      method: 'POST',
      headers: { 'x-requested-with': 'XMLHttpRequest' },
      credentials: 'include',
    }).catch(error => {
      throw new Error(`Logout request failed, ${error}`);
    });
    if (!res.ok) {
      const error = new Error(`Logout request failed, ${res.statusText}`);
      (error as Error & { status?: number }).status = res.status;
      throw error;
    }
    const body = await res.json().catch(() => undefined);
    const logoutUrl = (body as { logoutUrl?: unknown } | undefined)?.logoutUrl;
    if (typeof logoutUrl === 'string' && isNavigable(logoutUrl)) {
      // Keycloak's end-session endpoint ends its session too, then comes back
      window.location.href = logoutUrl;
      await new Promise(() => {});
    }
  }

  /** The retry loop's refresh: its session answers the app's next one */
  async #retry(): Promise<void> {
    await this.#refreshAtBackend(this.#scopes);
    if (this.availability.get().status === 'available' && this.#session) {
      this.#retriedSessionFreshUntil = Date.now() + RETRIED_SESSION_FRESH_MS;
    }
  }

  async #refreshAtBackend(scopes?: Set<string>): Promise<OAuth2Session> {
    this.#scopes = scopes ?? this.#scopes;
    const generation = this.#generation;
    const url = await this.#url('/refresh', {
      optional: true,
      scope: this.#scopes && [...this.#scopes].join(' '),
    });
    let outcome: RefreshOutcome;
    try {
      const response = await withRefreshLock(url, () =>
        fetch(url, {
          headers: { 'x-requested-with': 'XMLHttpRequest' },
          credentials: 'include',
        }),
      );
      outcome = await refreshOutcomeOf(response);
    } catch {
      outcome = { kind: 'outage', dependency: 'backstage' };
    }
    if (generation !== this.#generation) {
      // signed in or out meanwhile: this answer is about another session
      throw new SessionUnavailableError('unknown');
    }
    if (outcome.kind === 'outage') {
      this.availability.reportOutage(outcome.dependency);
      return this.#duringOutage(outcome.dependency, scopes);
    }
    this.availability.reportAvailable();
    if (outcome.kind === 'refused') {
      this.#session = undefined;
      const error = new Error(
        `Auth refresh request failed, ${outcome.statusText || outcome.status}`,
      );
      (error as Error & { status?: number }).status = outcome.status;
      throw error;
    }
    return this.#keep(outcome.body);
  }

  /**
   * The session the app has, while its Backstage token is valid and it has
   * the scopes asked for (a session without them would make the session
   * manager ask for a new sign-in); otherwise a connection error, which
   * keeps the session in the app.
   */
  #duringOutage(
    dependency: SessionDependency,
    scopes: Set<string> | undefined,
  ): OAuth2Session {
    const session = this.#session;
    const expiresAt = session?.backstageIdentity?.expiresAt?.getTime();
    if (
      session &&
      hasScopes(session, scopes) &&
      (expiresAt === undefined ||
        expiresAt - Date.now() > TOKEN_EXPIRY_MARGIN_MS)
    ) {
      return session;
    }
    throw new SessionUnavailableError(dependency);
  }

  /** Drops the session and any retry: after sign-out, or before sign-in */
  #forget() {
    this.#generation++;
    this.#session = undefined;
    this.#retriedSessionFreshUntil = 0;
    this.availability.reportAvailable();
  }

  #keep(response: ClientAuthResponse): OAuth2Session {
    const session = toOAuth2Session(response);
    this.#session = session;
    return session;
  }

  async #signIn(scopes: Set<string>): Promise<OAuth2Session> {
    const scope = [...scopes].join(' ');
    const origin = window.location.origin;
    if (this.options.redirectFlow) {
      window.location.href = await this.#url('/start', {
        scope,
        origin,
        redirectUrl: window.location.href,
        flow: 'redirect',
      });
      return new Promise(() => {});
    }
    const payload = await openLoginPopup({
      url: await this.#url('/start', { scope, origin, flow: 'popup' }),
      name: `${this.options.provider.title} Login`,
      width: 450,
      height: 730,
    });
    this.#forget();
    return this.#keep(payload as ClientAuthResponse);
  }

  async #url(
    path: string,
    query: Record<string, string | boolean | undefined> = {},
  ): Promise<string> {
    const base = await this.options.discoveryApi.getBaseUrl('auth');
    const all: typeof query = { ...query, env: this.options.environment };
    const params = Object.entries(all)
      .filter(([, value]) => value !== undefined && value !== false)
      .map(([key, value]) =>
        value === true
          ? encodeURIComponent(key)
          : `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`,
      );
    return `${base}/${this.options.provider.id}${path}?${params.join('&')}`;
  }
}

/** Whether `session` has every scope asked for (none asked: yes) */
function hasScopes(session: OAuth2Session, scopes: Set<string> | undefined) {
  return [...(scopes ?? [])].every(scope =>
    session.providerInfo.scopes.has(scope),
  );
}

/**
 * One refresh at a time per provider across the browser's tabs, under the
 * lock name core-app-api's connectors use, where the browser has Web Locks.
 */
function withRefreshLock<T>(url: string, refresh: () => Promise<T>) {
  const { origin, pathname } = new URL(url);
  const locks = globalThis.navigator?.locks;
  return locks
    ? locks.request(`backstage-auth-refresh:${origin}${pathname}`, refresh)
    : refresh();
}

/** Where sign-out may send the browser: Keycloak over https, or a local one */
function isNavigable(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'https:' || hostname === 'localhost';
  } catch {
    return false;
  }
}
