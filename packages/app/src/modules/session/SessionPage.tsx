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

function tokenRows(prefix: string, times: TokenTimes) {
  return {
    'issued (last refreshed)': (
      <Time id={`${prefix}-issued-at`} value={times.issuedAt} />
    ),
    expires: <Time id={`${prefix}-expires-at`} value={times.expiresAt} />,
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
            <StructuredMetadataTable
              metadata={{
                'signed in at Keycloak': (
                  <Time
                    id="keycloak-auth-time"
                    value={value.keycloakIdToken.authTime}
                  />
                ),
                'Backstage token': tokenRows(
                  'backstage-token',
                  value.backstageToken,
                ),
                'Keycloak ID token': tokenRows(
                  'keycloak-id-token',
                  value.keycloakIdToken,
                ),
              }}
            />
          </InfoCard>
        </Grid>
      </Grid>
    </Content>
  );
}
