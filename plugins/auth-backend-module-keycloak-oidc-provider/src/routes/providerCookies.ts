import type { CookieConfigurer } from '@backstage/plugin-auth-node';
import type { Request, Response } from 'express';

/** Where the provider's cookies live, from the provider factory's context. */
export interface ProviderCookieOptions {
  providerId: string;
  baseUrl: string;
  appUrl: string;
  callbackUrl: string;
  cookieConfigurer?: CookieConfigurer;
}

const defaultCookieConfigurer: CookieConfigurer = ({
  providerId,
  callbackUrl,
  appOrigin,
}) => {
  const { hostname, pathname, protocol } = new URL(callbackUrl);
  const secure = protocol === 'https:';
  const sameSite =
    new URL(appOrigin).hostname !== hostname && secure ? 'none' : 'lax';
  const path = pathname.endsWith(`${providerId}/handler/frame`)
    ? pathname.slice(0, -'/handler/frame'.length)
    : `${pathname}/${providerId}`;
  return { path, secure, sameSite };
};

/**
 * The attributes Backstage gives the provider's cookies, so the ones we set
 * or clear match them.
 *
 * No upstream seam: plugin-auth-node's `OAuthCookieManager`
 * (src/oauth/OAuthCookieManager.ts) exports neither itself nor its
 * `defaultCookieConfigurer`, so the default attributes below mirror that
 * configurer.
 */
function cookieAttributes(req: Request, options: ProviderCookieOptions) {
  const { providerId, baseUrl, callbackUrl } = options;
  const appOrigin =
    originOf(req.get('origin')) ?? new URL(options.appUrl).origin;
  const configure = options.cookieConfigurer ?? defaultCookieConfigurer;
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    ...configure({ providerId, baseUrl, callbackUrl, appOrigin }),
  };
}

/**
 * The cookie in which Backstage keeps the session handle (named by
 * plugin-auth-node's `OAuthCookieManager`, which does not export the name).
 */
export const refreshCookieName = (providerId: string) =>
  `${providerId}-refresh-token`;

/**
 * Clears `<providerId>-refresh-token` so the browser really drops it (upstream
 * clears it only in its logout route). A handle is far below the cookie
 * chunking threshold, so there are no chunks.
 */
export function clearRefreshCookie(
  req: Request,
  res: Response,
  options: ProviderCookieOptions,
): void {
  res.cookie(refreshCookieName(options.providerId), '', {
    ...cookieAttributes(req, options),
    maxAge: 0,
  });
}

/** The cookie that binds a sign-in to the browser that started it. */
export const loginCookieName = (providerId: string) => `${providerId}-login`;

/**
 * Sets the login cookie at `/start`: HttpOnly and only sent to the callback
 * (`…/handler`, like upstream's nonce cookie), so, unlike the nonce, whoever
 * holds a callback URL (an access log, a referrer) does not have it.
 */
export function setLoginCookie(
  req: Request,
  res: Response,
  secret: string,
  maxAgeMs: number,
  options: ProviderCookieOptions,
): void {
  const attributes = cookieAttributes(req, options);
  res.cookie(loginCookieName(options.providerId), secret, {
    ...attributes,
    path: `${attributes.path ?? ''}/handler`,
    maxAge: maxAgeMs,
  });
}

/** The request's Origin when it is a URL (`null` from sandboxed frames is not). */
function originOf(header: string | undefined): string | undefined {
  if (!header) {
    return undefined;
  }
  try {
    return new URL(header).origin;
  } catch {
    return undefined;
  }
}
