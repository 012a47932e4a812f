import {
  Content,
  InfoCard,
  Progress,
  ResponseErrorPanel,
  StructuredMetadataTable,
} from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/frontend-plugin-api';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import { useState } from 'react';
import type { TokenTimes } from './decodeTokenTimes';
import { useSessionDetails } from './useSessionDetails';

function formatTime(date: Date | undefined) {
  if (!date) return '—';
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const relative =
    seconds >= 0 ? `${seconds} s ago` : `in ${Math.abs(seconds)} s`;
  return `${date.toLocaleString()} (${relative})`;
}

function Time({ id, value }: { id: string; value?: Date }) {
  return (
    <span data-testid={id} data-epoch-ms={value?.getTime() ?? ''}>
      {formatTime(value)}
    </span>
  );
}

/**
 * The Backstage token is reissued on every refresh; the Keycloak tokens
 * only when the backend refreshed them at Keycloak (not when it served
 * still-fresh ones from Redis).
 */
function sessionRows({
  backstageToken,
  keycloakIdToken,
}: {
  backstageToken: TokenTimes;
  keycloakIdToken: TokenTimes;
}) {
  return {
    ...(keycloakIdToken.authTime && {
      'signed in at Keycloak': (
        <Time id="keycloak-auth-time" value={keycloakIdToken.authTime} />
      ),
    }),
    'session last refreshed': (
      <Time id="backstage-token-issued-at" value={backstageToken.issuedAt} />
    ),
    'Backstage token expires': (
      <Time id="backstage-token-expires-at" value={backstageToken.expiresAt} />
    ),
    'Keycloak tokens last refreshed': (
      <Time id="keycloak-id-token-issued-at" value={keycloakIdToken.issuedAt} />
    ),
    'Keycloak tokens expire': (
      <Time
        id="keycloak-id-token-expires-at"
        value={keycloakIdToken.expiresAt}
      />
    ),
  };
}

/**
 * Who is signed in and how fresh the session is. Reloading the page runs
 * the sign-in page's silent refresh again, so the times below move on every
 * reload; "Check again" re-reads them without a reload.
 */
export function SessionPage() {
  const identityApi = useApi(identityApiRef);
  const { value, loading, error, retry } = useSessionDetails();
  const [signingOut, setSigningOut] = useState(false);

  if (loading && !value) return <Progress />;
  if (error) {
    return (
      <Content>
        <ResponseErrorPanel error={error} />
      </Content>
    );
  }
  if (!value) return null;

  return (
    <Content>
      <Grid container spacing={3}>
        <Grid item xs={12} md={6}>
          <InfoCard
            title="Signed in"
            actions={
              <>
                <Button
                  variant="contained"
                  color="primary"
                  data-testid="sign-out"
                  disabled={signingOut}
                  onClick={() => {
                    setSigningOut(true);
                    // The backend answers with Keycloak's end-session URL
                    // and the browser follows it.
                    identityApi.signOut();
                  }}
                >
                  Sign out
                </Button>
                <Button onClick={retry}>Check again</Button>
              </>
            }
          >
            <StructuredMetadataTable
              metadata={{
                name: (
                  <span data-testid="display-name">
                    {value.displayName ?? '—'}
                  </span>
                ),
                email: value.email ?? '—',
                'user entity': (
                  <span data-testid="user-entity-ref">
                    {value.userEntityRef}
                  </span>
                ),
                ownership: value.ownershipEntityRefs.join(', '),
                'catalog entity': (
                  <span
                    data-testid="catalog-entity"
                    data-status={value.catalogStatus}
                  >
                    {value.catalogEntityTitle ??
                      `not readable (HTTP ${value.catalogStatus})`}
                  </span>
                ),
              }}
            />
          </InfoCard>
        </Grid>
        <Grid item xs={12} md={6}>
          <InfoCard title="Session">
            <StructuredMetadataTable metadata={sessionRows(value)} />
          </InfoCard>
        </Grid>
      </Grid>
    </Content>
  );
}
