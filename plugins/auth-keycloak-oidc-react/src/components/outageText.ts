import type { SessionDependency } from '../sessionAvailability/SessionAvailability';

/**
 * What the user reads about an outage, in one place for the sign-in page
 * and the notice; the same headlines as the backend module's outage page
 * (routes/outagePage.ts). Calm on purpose: nothing is lost, and the word
 * "error" stays out of it.
 */
export function outageHeadline(dependency: SessionDependency): string {
  switch (dependency) {
    case 'keycloak':
      return 'Keycloak is unreachable';
    case 'session-store':
      return 'The session store is unavailable';
    case 'backstage':
      return 'Backstage cannot be reached';
    default:
      return 'Sign-in is unavailable for a moment';
  }
}

/** "in 8 s" / "now", for the next retry */
export function retryPhrase(secondsLeft: number): string {
  return secondsLeft > 0 ? `in ${secondsLeft} s` : 'now';
}
