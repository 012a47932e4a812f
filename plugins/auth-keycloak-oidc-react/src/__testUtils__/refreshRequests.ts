import { mockApis } from '@backstage/frontend-test-utils';
import type {
  ConfigApi,
  DiscoveryApi,
  OAuthRequestApi,
} from '@backstage/frontend-plugin-api';

const AUTH_BASE_URL = 'http://backstage.test/api/auth';

/**
 * What an OAuth2 instance needs, with `auth.environment: production`, and
 * the URLs of the backend calls it makes through fetch (each answered 401:
 * no session).
 */
export function recordingAuthDeps(): {
  deps: {
    configApi: ConfigApi;
    discoveryApi: DiscoveryApi;
    oauthRequestApi: OAuthRequestApi;
  };
  urls: string[];
} {
  const urls: string[] = [];
  jest.spyOn(global, 'fetch').mockImplementation(async input => {
    urls.push(input instanceof Request ? input.url : String(input));
    return new Response(null, { status: 401, statusText: 'Unauthorized' });
  });
  const oauthRequestApi: OAuthRequestApi = {
    createAuthRequester: () => async () => {
      throw new Error('no login popup in unit tests');
    },
    authRequest$: () => {
      throw new Error('no login popup in unit tests');
    },
  };
  return {
    deps: {
      configApi: mockApis.config({
        data: { auth: { environment: 'production' } },
      }),
      discoveryApi: mockApis.discovery({ baseUrl: 'http://backstage.test' }),
      oauthRequestApi,
    },
    urls,
  };
}

/** The one refresh call an OAuth2 for keycloak-oidc makes first */
export function expectKeycloakOidcRefresh(urls: string[]) {
  expect(urls).toHaveLength(1);
  const url = new URL(urls[0]);
  expect(`${url.origin}${url.pathname}`).toBe(
    `${AUTH_BASE_URL}/keycloak-oidc/refresh`,
  );
  expect(url.searchParams.get('env')).toBe('production');
  expect(url.searchParams.get('scope')?.split(' ').sort()).toEqual([
    'email',
    'openid',
    'profile',
  ]);
}
