import {
  AuthenticationError,
  InputError,
  ServiceUnavailableError,
} from '@backstage/errors';

/**
 * The server-side session behind a refresh cookie is gone for good: unknown,
 * expired, signed out, or Keycloak answered `invalid_grant`. The refresh
 * cookie is useless from now on, so the route layer clears it.
 *
 * @public
 */
export class SessionEndedError extends AuthenticationError {}

/**
 * Keycloak answered the refresh with `invalid_grant`: its session is over.
 * `keycloakReason` is Keycloak's error_description (e.g. `Session not active`).
 *
 * @public
 */
export class KeycloakSessionEndedError extends SessionEndedError {
  /** Keycloak's error_description, e.g. `Session not active` */
  readonly keycloakReason: string;

  constructor(keycloakReason: string) {
    super(`Keycloak session ended (${keycloakReason}); sign in again`);
    this.keycloakReason = keycloakReason;
  }
}

/**
 * A dependency whose outage a 503 names. It travels in the JSON error body
 * as `error.dependency` (Backstage's error handler serializes an error's own
 * fields), so the frontend can tell the user what is down without parsing
 * messages: the error's `name` must stay `ServiceUnavailableError`, which is
 * what gives the 503.
 *
 * @public
 */
export type OutageDependency = 'keycloak' | 'session-store';

/**
 * The session store (Redis) could not be reached. Transient: the session and
 * its cookie are kept, and the request answers 503.
 *
 * @public
 */
export class SessionStoreUnavailableError extends ServiceUnavailableError {
  /** Serialized into the 503's body as `error.dependency` */
  readonly dependency: OutageDependency = 'session-store';
}

/**
 * Keycloak could not be reached or answered with something other than a
 * definite verdict on the session. Transient: the session is kept.
 *
 * @public
 */
export class KeycloakUnavailableError extends ServiceUnavailableError {
  /** Serialized into the 503's body as `error.dependency` */
  readonly dependency: OutageDependency = 'keycloak';
}

/**
 * A back-channel logout token failed validation. The message names the
 * check that failed (never the token); `reason` is a short stable code for
 * metrics. The back-channel logout route answers 400 `invalid_request`.
 */
export class LogoutTokenRejectedError extends InputError {
  readonly reason: string;
  constructor(reason: string, problem: string) {
    super(`logout token rejected: ${problem}`);
    this.reason = reason;
  }
}
