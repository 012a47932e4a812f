import { OAuth2, type OAuth2Session } from '@backstage/core-app-api';
import type {
  BackstageUserIdentity,
  ProfileInfo,
} from '@backstage/frontend-plugin-api';

/** What Backstage's auth backend answers on `/refresh` and the popup's message */
export interface ClientAuthResponse {
  providerInfo: {
    idToken: string;
    accessToken: string;
    scope: string;
    expiresInSeconds?: number;
  };
  profile: ProfileInfo;
  backstageIdentity?: {
    token: string;
    identity: BackstageUserIdentity;
    expiresInSeconds?: number;
  };
}

function expiresAt(expiresInSeconds: number | undefined): Date | undefined {
  return expiresInSeconds
    ? new Date(Date.now() + expiresInSeconds * 1000)
    : undefined;
}

/**
 * The response as `OAuth2`'s session manager keeps it: scopes as a set,
 * lifetimes as dates. The same mapping as the session transform OAuth2 gives
 * its own connector (core-app-api's OAuth2.ts), which is not exported.
 */
export function toOAuth2Session(response: ClientAuthResponse): OAuth2Session {
  const { providerInfo, profile, backstageIdentity } = response;
  return {
    providerInfo: {
      idToken: providerInfo.idToken,
      accessToken: providerInfo.accessToken,
      scopes: OAuth2.normalizeScopes(providerInfo.scope),
      expiresAt: expiresAt(providerInfo.expiresInSeconds),
    },
    profile,
    ...(backstageIdentity && {
      backstageIdentity: {
        token: backstageIdentity.token,
        identity: backstageIdentity.identity,
        expiresAt: expiresAt(backstageIdentity.expiresInSeconds),
      },
    }),
  };
}
