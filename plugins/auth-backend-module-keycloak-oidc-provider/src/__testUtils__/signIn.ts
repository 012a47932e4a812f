import { Browser, loginFormAction } from './Browser';
import { devUsers, type DevUserName } from './users';

export const APP_REDIRECT = 'http://localhost:3000/signed-in';

/**
 * Drives a `flow=redirect` login up to (not including) the callback: start
 * on `authUrl`, then the IdP's login form. Returns the callback URL the IdP
 * sent the browser to, so the test chooses which replica receives it.
 */
export async function loginUntilCallback(
  browser: Browser,
  authUrl: string,
  user: DevUserName,
  password: string = devUsers[user].password,
): Promise<string> {
  const start = `${authUrl}/start?env=development&flow=redirect&redirectUrl=${encodeURIComponent(APP_REDIRECT)}`;
  const isCallback = (url: URL) => url.pathname.endsWith('/handler/frame');
  const loginPage = await browser.follow(start, { stopAt: isCallback });
  if (isCallback(new URL(loginPage.url))) {
    return loginPage.url; // still signed in at the IdP (SSO): no login page
  }
  if (loginPage.res.status !== 200) {
    throw new Error(
      `Expected the IdP login page, got ${loginPage.res.status} at ${
        loginPage.url
      }: ${await loginPage.res.text()}`,
    );
  }
  const action = loginFormAction(await loginPage.res.text(), loginPage.url);
  const toCallback = await browser.follow(action, {
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: user, password }),
    },
    stopAt: isCallback,
  });
  if (!new URL(toCallback.url).pathname.endsWith('/handler/frame')) {
    throw new Error(
      `Login did not reach the callback; ended at ${toCallback.url} with ${toCallback.res.status}`,
    );
  }
  return toCallback.url;
}

/** Sends the callback to `authUrl` (any replica) and returns its response. */
export async function completeCallback(
  browser: Browser,
  callbackUrl: string,
  authUrl: string,
): Promise<Response> {
  const callback = new URL(callbackUrl);
  const target = new URL(`${authUrl}/handler/frame${callback.search}`);
  return browser.request(target.href);
}

/** The provider id whose refresh cookie these helpers read by default. */
export const DEFAULT_PROVIDER_ID = 'keycloak-oidc';

export interface SignInOptions {
  /**
   * The auth provider `authUrl` points at (`<baseUrl>/api/auth/<providerId>`),
   * which names the refresh cookie `<providerId>-refresh-token`: default
   * `keycloak-oidc`; `oidc` for Backstage's own OIDC provider module.
   */
  providerId?: string;
}

/** The refresh cookie's name for a provider: `<providerId>-refresh-token`. */
export function refreshCookieName(providerId: string = DEFAULT_PROVIDER_ID) {
  return `${providerId}-refresh-token`;
}

/**
 * A full login on one backend; returns the refresh cookie value. Works for
 * any Backstage OAuth provider that takes the redirect flow through the dev
 * IdP's login form, e.g. `{ providerId: 'oidc' }` for the upstream module.
 */
export async function signIn(
  browser: Browser,
  authUrl: string,
  user: DevUserName,
  options: SignInOptions = {},
): Promise<string> {
  const callbackUrl = await loginUntilCallback(browser, authUrl, user);
  const res = await completeCallback(browser, callbackUrl, authUrl);
  const location = res.headers.get('location');
  if (res.status !== 302 || location !== APP_REDIRECT) {
    throw new Error(
      `Callback failed: ${res.status} ${location} ${await res.text()}`,
    );
  }
  const cookie = await browser.cookieValue(
    `${authUrl}/refresh`,
    refreshCookieName(options.providerId),
  );
  if (!cookie) {
    throw new Error('No refresh cookie after login');
  }
  return cookie;
}

export function refresh(
  browser: Browser,
  authUrl: string,
  headers: Record<string, string> = { 'X-Requested-With': 'XMLHttpRequest' },
) {
  return browser.request(`${authUrl}/refresh?env=development`, { headers });
}

export function logout(browser: Browser, authUrl: string) {
  return browser.request(`${authUrl}/logout?env=development`, {
    method: 'POST',
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
}

/** A refresh that presents `handle` as the cookie, as another tab or a forger would. */
export function refreshWithCookie(
  authUrl: string,
  handle: string,
  providerId: string = DEFAULT_PROVIDER_ID,
) {
  return fetch(`${authUrl}/refresh?env=development`, {
    headers: {
      'X-Requested-With': 'XMLHttpRequest',
      cookie: `${refreshCookieName(providerId)}=${handle}`,
    },
  });
}
