import { Content, Header, InfoCard, Page } from '@backstage/core-components';
import { coreApis, useApi } from '@backstage/frontend-plugin-api';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import type { SessionDependency } from '../sessionAvailability/SessionAvailability';
import { outageHeadline, retryPhrase } from './outageText';
import { useSecondsUntil } from './useSessionAvailability';

/**
 * Shown in place of the sign-in card while a dependency of the session is
 * down: what is down, that the session is kept, and when the next try is.
 * The sign-in page signs the user in by itself once a try succeeds.
 */
export function SignInOutagePage(props: {
  dependency: SessionDependency;
  nextRetryAt: Date;
  onRetry(): void;
}) {
  const configApi = useApi(coreApis.config);
  const secondsLeft = useSecondsUntil(props.nextRetryAt);
  return (
    <Page themeId="home">
      <Header title={configApi.getString('app.title')} />
      <Content>
        <div
          role="status"
          aria-live="polite"
          data-testid="keycloak-oidc-outage"
          data-dependency={props.dependency}
          style={{ maxWidth: 560, margin: '0 auto' }}
        >
          <InfoCard
            title={outageHeadline(props.dependency)}
            actions={
              <Button
                color="primary"
                variant="outlined"
                onClick={props.onRetry}
              >
                Try now
              </Button>
            }
          >
            <Typography variant="body1" paragraph>
              Your session is kept. You will be signed back in automatically as
              soon as it is back.
            </Typography>
            {/* ticks every second: kept out of what screen readers announce */}
            <Typography variant="body2" color="textSecondary" aria-hidden>
              Next try {retryPhrase(secondsLeft)}.
            </Typography>
          </InfoCard>
        </div>
      </Content>
    </Page>
  );
}
