import { ServiceUnavailableError } from '@backstage/errors';
import type { CookieConfigurer } from '@backstage/plugin-auth-node';
import type { Request } from 'express';
import { randomNonce, randomPKCECodeVerifier } from 'openid-client';
import type { KeycloakEnvironment } from '../authResult';
import type { SessionStoreOptions } from '../config/readSessionStoreOptions';
import { setLoginCookie } from '../routes/providerCookies';
import type { LoginTransaction, SessionStore } from '../session/types';
import { browserBindingOf, newLoginSecret } from './browserBinding';

/**
 * `/start`: a login transaction (PKCE verifier, OIDC nonce, the hash of a
 * new login cookie's secret) counted against the pending-login budget, the
 * HttpOnly login cookie, and Keycloak's authorization URL, once Keycloak
 * has been seen to answer.
 */
export async function startLogin(
  input: { req: Request; state: string; scope: string },
  { client, options }: KeycloakEnvironment,
  deps: {
    store: SessionStore;
    session: Pick<SessionStoreOptions, 'loginTtlSeconds' | 'maxPendingLogins'>;
    provider: {
      providerId: string;
      baseUrl: string;
      appUrl: string;
      cookieConfigurer?: CookieConfigurer;
    };
    now: () => number;
  },
): Promise<{ url: string }> {
  const { store, session } = deps;
  const secret = newLoginSecret();
  const transaction: LoginTransaction = {
    codeVerifier: randomPKCECodeVerifier(),
    nonce: randomNonce(),
    browserBinding: browserBindingOf(secret),
    createdAt: deps.now(),
  };
  const url = await client.authorizationUrl({
    state: input.state,
    scope: input.scope,
    transaction,
  });
  // the URL came from cached metadata; a down Keycloak gets the outage page
  // now rather than the browser's error page in the popup
  await client.assertReachable();
  const ttlMs = session.loginTtlSeconds * 1000;
  const stored = await store.putLoginTransaction(
    input.state,
    transaction,
    ttlMs,
    session.maxPendingLogins,
  );
  if (!stored) {
    throw new ServiceUnavailableError(
      `Too many sign-ins in progress (${session.maxPendingLogins} started in the last ${session.loginTtlSeconds} s, auth.session.maxPendingLogins); try again in a few minutes`,
    );
  }
  if (input.req.res) {
    setLoginCookie(input.req, input.req.res, secret, ttlMs, {
      ...deps.provider,
      callbackUrl: options.callbackUrl,
    });
  }
  return { url };
}
