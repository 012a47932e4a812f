import { KeycloakSessionEndedError, SessionEndedError } from '../errors';
import type { SessionMetrics } from '../metrics/SessionMetrics';
import type { RefreshOutcome } from './SessionRefresher';

/** Counts one `/refresh` by how it ended. */
export function recordRefreshSuccess(
  metrics: SessionMetrics,
  outcome: RefreshOutcome,
): void {
  metrics.refresh(outcome.source === 'fresh' ? 'fast_path' : 'ok');
}

/**
 * Counts a failed `/refresh`: Keycloak ended the session (with its reason),
 * the session was already gone, or something transient (Redis, Keycloak
 * unreachable) that kept the session.
 */
export function recordRefreshFailure(
  metrics: SessionMetrics,
  error: unknown,
): void {
  if (error instanceof KeycloakSessionEndedError) {
    metrics.refresh('invalid_grant', error.keycloakReason);
  } else if (error instanceof SessionEndedError) {
    metrics.refresh('session_not_found');
  } else {
    metrics.refresh('transient_error');
  }
}
