import {
  SessionState,
  type BackstageIdentityResponse,
} from '@backstage/frontend-plugin-api';
import type { KeycloakOidcAuthApi } from '../keycloakOidcAuthApiRef';
import type {
  SessionAvailability,
  SessionDependency,
} from '../sessionAvailability/SessionAvailability';

export const aliceIdentity: BackstageIdentityResponse = {
  token: 'backstage-token',
  identity: {
    type: 'user',
    userEntityRef: 'user:default/alice',
    ownershipEntityRefs: ['user:default/alice'],
  },
};

/**
 * A keycloak-oidc API for component tests: its availability and session
 * state are set by the test; `getBackstageIdentity` is a mock.
 */
export function fakeKeycloakApi() {
  let availability: SessionAvailability = { status: 'available' };
  const listeners = new Set<() => void>();
  const stateListeners = new Set<(s: SessionState) => void>();
  let state: SessionState = SessionState.SignedOut;
  const api = {
    getBackstageIdentity: jest.fn(
      async (): Promise<BackstageIdentityResponse | undefined> => undefined,
    ),
    getProfile: jest.fn(async () => ({ displayName: 'Alice Adams' })),
    retrySessionNow: jest.fn(),
    getSessionAvailability: () => availability,
    subscribeToSessionAvailability: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    sessionState$: () => ({
      subscribe: (next: (s: SessionState) => void) => {
        stateListeners.add(next);
        next(state);
        return {
          unsubscribe: () => stateListeners.delete(next),
          closed: false,
        };
      },
    }),
  };
  return {
    api: api as unknown as KeycloakOidcAuthApi & typeof api,
    setUnavailable(dependency: SessionDependency, retryInSeconds = 8) {
      availability = {
        status: 'unavailable',
        dependency,
        since: new Date(),
        nextRetryAt: new Date(Date.now() + retryInSeconds * 1000),
      };
      listeners.forEach(l => l());
    },
    setAvailable() {
      availability = { status: 'available' };
      listeners.forEach(l => l());
    },
    setSessionState(next: SessionState) {
      state = next;
      stateListeners.forEach(l => l(next));
    },
  };
}
