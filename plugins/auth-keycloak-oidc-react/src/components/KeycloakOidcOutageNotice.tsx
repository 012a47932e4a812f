import { useApi } from '@backstage/frontend-plugin-api';
import Button from '@material-ui/core/Button';
import Paper from '@material-ui/core/Paper';
import Typography from '@material-ui/core/Typography';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { outageHeadline, retryPhrase } from './outageText';
import {
  useSecondsUntil,
  useSessionAvailability,
  useSignedIn,
} from './useSessionAvailability';

/**
 * A small notice at the bottom of the page while a signed-in user's
 * session cannot be refreshed: what is down, that they stay signed in, and
 * when the next try is. Not a dialog: the app keeps working with the
 * Backstage token it has, and the notice goes away by itself when the
 * dependency is back. (Before sign-in the sign-in page says it instead.)
 *
 * The new frontend system's module adds it as an app root element; a
 * legacy app renders it next to `<AlertDisplay />` and
 * `<OAuthRequestDialog />`.
 *
 * @public
 */
export function KeycloakOidcOutageNotice() {
  const api = useApi(keycloakOidcAuthApiRef);
  const availability = useSessionAvailability(api);
  const signedIn = useSignedIn(api);
  const unavailable =
    availability.status === 'unavailable' ? availability : undefined;
  const secondsLeft = useSecondsUntil(
    signedIn ? unavailable?.nextRetryAt : undefined,
  );

  if (!unavailable || !signedIn) {
    return null;
  }
  return (
    <Paper
      data-testid="keycloak-oidc-outage-notice"
      data-dependency={unavailable.dependency}
      elevation={6}
      style={{
        position: 'fixed',
        bottom: 24,
        left: '50%',
        transform: 'translateX(-50%)',
        zIndex: 1400,
        display: 'flex',
        alignItems: 'center',
        gap: 16,
        padding: '8px 16px',
        maxWidth: 'calc(100vw - 48px)',
      }}
    >
      <Typography variant="body2">
        <span role="status" aria-live="polite">
          <strong>{outageHeadline(unavailable.dependency)}.</strong> You stay
          signed in;
        </span>{' '}
        {/* ticks every second: kept out of what screen readers announce */}
        <span aria-hidden>next try {retryPhrase(secondsLeft)}.</span>
      </Typography>
      <Button
        size="small"
        color="primary"
        onClick={() => api.retrySessionNow()}
      >
        Try now
      </Button>
    </Paper>
  );
}
