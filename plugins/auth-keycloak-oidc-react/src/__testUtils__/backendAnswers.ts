import { mockApis } from '@backstage/frontend-test-utils';
import type { OAuthRequestApi } from '@backstage/frontend-plugin-api';

type Answer = Response | 'no answer' | Promise<Response>;

/** A /refresh answer with a session: Keycloak tokens and a Backstage token */
export function sessionAnswer(
  options: { token?: string; backstageExpiresIn?: number } = {},
): Response {
  return Response.json({
    providerInfo: {
      idToken: 'id-token',
      accessToken: 'access-token',
      scope: 'openid profile email',
      // Keycloak's default; OAuth2 refreshes in its last 3 minutes
      expiresInSeconds: 300,
    },
    profile: { displayName: 'Alice Adams', email: 'alice@example.com' },
    backstageIdentity: {
      token: options.token ?? 'backstage-token-1',
      identity: {
        type: 'user',
        userEntityRef: 'user:default/alice',
        ownershipEntityRefs: ['user:default/alice'],
      },
      expiresInSeconds: options.backstageExpiresIn ?? 3600,
    },
  });
}

/** An answer the test gives later: `answer.resolve(response)` */
export function laterAnswer() {
  let resolve!: (response: Response) => void;
  const promise = new Promise<Response>(r => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Moves the clock into OAuth2's refresh window of a new session's tokens */
export function pastRefreshPoint() {
  jest.setSystemTime(Date.now() + 121_000);
}

/** The module's 503: Backstage's error body with the dependency named */
export function outageAnswer(dependency?: string): Response {
  return Response.json(
    {
      error: {
        name: 'ServiceUnavailableError',
        message: 'Keycloak token endpoint failed during refresh: ECONNREFUSED',
        ...(dependency && { dependency }),
      },
      request: { method: 'GET', url: '/api/auth/keycloak-oidc/refresh' },
      response: { statusCode: 503 },
    },
    { status: 503, statusText: 'Service Unavailable' },
  );
}

export function signedOutAnswer(): Response {
  return Response.json(
    { error: { name: 'AuthenticationError', message: 'Refresh failed' } },
    { status: 401, statusText: 'Unauthorized' },
  );
}

/**
 * global fetch answering the backend's calls in order from `answers`
 * (`'no answer'` rejects, as fetch does when nothing listens), with the
 * URLs asked; and an OAuthRequestApi that records "Login Required".
 */
export function scriptedBackend(...answers: Answer[]) {
  const urls: string[] = [];
  const queue = [...answers];
  jest.spyOn(global, 'fetch').mockImplementation(async input => {
    urls.push(input instanceof Request ? input.url : String(input));
    const answer = queue.shift();
    if (!answer) {
      throw new Error(`unexpected request ${urls[urls.length - 1]}`);
    }
    if (answer === 'no answer') {
      throw new TypeError('Failed to fetch');
    }
    return await answer;
  });
  const loginRequired = jest.fn(async () => {
    throw new Error('Login Required dialog');
  });
  const oauthRequestApi: OAuthRequestApi = {
    createAuthRequester: () => loginRequired,
    authRequest$: () => {
      throw new Error('not used');
    },
  };
  return {
    urls,
    /** calls to the "Login Required" requester */
    loginRequired,
    answer: (...more: Answer[]) => queue.push(...more),
    deps: {
      configApi: mockApis.config({
        data: { auth: { environment: 'production' } },
      }),
      discoveryApi: mockApis.discovery({ baseUrl: 'http://backstage.test' }),
      oauthRequestApi,
    },
  };
}
