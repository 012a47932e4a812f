import { parseEntityRef } from '@backstage/catalog-model';
import {
  discoveryApiRef,
  fetchApiRef,
  identityApiRef,
  useApi,
} from '@backstage/frontend-plugin-api';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { keycloakOidcAuthApiRef } from '@redis-session/plugin-auth-keycloak-oidc-react';
import { decodeTokenTimes, type TokenTimes } from './decodeTokenTimes';

export interface SessionDetails {
  displayName?: string;
  email?: string;
  userEntityRef: string;
  ownershipEntityRefs: string[];
  /** The Backstage token: issued by the auth backend on every refresh */
  backstageToken: TokenTimes;
  /** The Keycloak ID token: new only when the backend refreshed at Keycloak */
  keycloakIdToken: TokenTimes;
  /** The user entity as the catalog returns it for this user's token */
  catalogEntityTitle?: string;
  catalogStatus: number;
}

/**
 * Everything the session page shows, fetched fresh on each call: the
 * identity, the tokens' times, and the user's catalog entity read with the
 * user's own Backstage token (so a token one replica issued is checked by
 * whichever replica serves the read).
 */
export function useSessionDetails() {
  const identityApi = useApi(identityApiRef);
  const keycloakApi = useApi(keycloakOidcAuthApiRef);
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);

  return useAsyncRetry(async (): Promise<SessionDetails> => {
    const [profile, identity, credentials, idToken] = await Promise.all([
      identityApi.getProfileInfo(),
      identityApi.getBackstageIdentity(),
      identityApi.getCredentials(),
      keycloakApi.getIdToken({ optional: true }),
    ]);
    const { kind, namespace, name } = parseEntityRef(identity.userEntityRef);
    const catalogUrl = await discoveryApi.getBaseUrl('catalog');
    const response = await fetchApi.fetch(
      `${catalogUrl}/entities/by-name/${encodeURIComponent(
        kind,
      )}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
    );
    const entity = response.ok ? await response.json() : undefined;
    return {
      displayName: profile.displayName,
      email: profile.email,
      userEntityRef: identity.userEntityRef,
      ownershipEntityRefs: identity.ownershipEntityRefs,
      backstageToken: decodeTokenTimes(credentials.token),
      keycloakIdToken: decodeTokenTimes(idToken),
      catalogEntityTitle:
        entity?.spec?.profile?.displayName ?? entity?.metadata?.name,
      catalogStatus: response.status,
    };
  }, [identityApi, keycloakApi, discoveryApi, fetchApi]);
}
