import type { SessionDependency } from '../sessionAvailability/SessionAvailability';
import type { ClientAuthResponse } from './toOAuth2Session';

/**
 * How a `/refresh` ended, from its response: a session, an outage of a
 * named dependency (the session is kept), or a refusal (no session, or it
 * ended: the app signs the user out). The one place that reads the
 * backend's answer.
 */
export type RefreshOutcome =
  | { kind: 'session'; body: ClientAuthResponse }
  | { kind: 'outage'; dependency: SessionDependency }
  | { kind: 'refused'; status: number; statusText: string; body: unknown };

const DEPENDENCIES: readonly SessionDependency[] = [
  'keycloak',
  'session-store',
];

export async function refreshOutcomeOf(
  response: Response,
): Promise<RefreshOutcome> {
  // a gateway that cannot reach the backend
  if (response.status === 502 || response.status === 504) {
    return { kind: 'outage', dependency: 'backstage' };
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 503) {
    // the module names the dependency in error.dependency
    const named = (body as { error?: { dependency?: unknown } } | undefined)
      ?.error?.dependency;
    const dependency = DEPENDENCIES.find(d => d === named) ?? 'unknown';
    return { kind: 'outage', dependency };
  }
  if (!response.ok || !isClientAuthResponse(body)) {
    return {
      kind: 'refused',
      status: response.status,
      statusText: response.statusText,
      body,
    };
  }
  return { kind: 'session', body };
}

function isClientAuthResponse(body: unknown): body is ClientAuthResponse {
  return typeof body === 'object' && body !== null && 'providerInfo' in body;
}
