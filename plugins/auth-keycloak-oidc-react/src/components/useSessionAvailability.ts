import { SessionState } from '@backstage/frontend-plugin-api';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { KeycloakOidcAuthApi } from '../keycloakOidcAuthApiRef';
import type { SessionAvailability } from '../sessionAvailability/SessionAvailability';

const ALWAYS_AVAILABLE: SessionAvailability = { status: 'available' };

/**
 * The API's session availability, re-rendering on every change. An app
 * that provides its own `auth.keycloak-oidc` API (a plain OAuth2, a test
 * double) has no availability to report: always available, as before.
 */
export function useSessionAvailability(
  api: KeycloakOidcAuthApi,
): SessionAvailability {
  const reports =
    typeof api.getSessionAvailability === 'function' &&
    typeof api.subscribeToSessionAvailability === 'function';
  const subscribe = useCallback(
    (listener: () => void) =>
      reports ? api.subscribeToSessionAvailability(listener) : () => {},
    [api, reports],
  );
  const snapshot = useCallback(
    () => (reports ? api.getSessionAvailability() : ALWAYS_AVAILABLE),
    [api, reports],
  );
  return useSyncExternalStore(subscribe, snapshot);
}

/** Whether the API has a session (the app is past its sign-in page). */
export function useSignedIn(api: KeycloakOidcAuthApi): boolean {
  const [signedIn, setSignedIn] = useState(false);
  useEffect(() => {
    const subscription = api
      .sessionState$()
      .subscribe(state => setSignedIn(state === SessionState.SignedIn));
    return () => subscription.unsubscribe();
  }, [api]);
  return signedIn;
}

/** Whole seconds until `date`, ticking once a second. */
export function useSecondsUntil(date: Date | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!date) return undefined;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [date]);
  return date ? Math.max(0, Math.ceil((date.getTime() - now) / 1000)) : 0;
}
