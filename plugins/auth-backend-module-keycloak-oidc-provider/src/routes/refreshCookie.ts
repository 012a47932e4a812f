import type { CookieConfigurer } from '@backstage/plugin-auth-node';
import type { Request, Response } from 'express';

/**
 * Clears `<providerId>-refresh-token` with the attributes Backstage set it
 * with, so the browser really drops it.
 *
 * No upstream seam: plugin-auth-node's `OAuthCookieManager`
 * (src/oauth/OAuthCookieManager.ts) removes the refresh cookie only in its
 * logout route and exports neither itself nor its `defaultCookieConfigurer`,
 * so the default attributes below mirror that configurer. A handle is far
 * below its 4,000-character chunking threshold, so there are no chunks.
 */
export function clearRefreshCookie(
  req: Request,
  res: Response,
  options: {
    providerId: string;
    baseUrl: string;
    appUrl: string;
    callbackUrl: string;
    cookieConfigurer?: CookieConfigurer;
  },
): void {
  const { providerId, baseUrl, callbackUrl } = options;
  const appOrigin =
    originOf(req.get('origin')) ?? new URL(options.appUrl).origin;
  const configure = options.cookieConfigurer ?? defaultCookieConfigurer;
  res.cookie(`${providerId}-refresh-token`, '', {
    httpOnly: true,
    sameSite: 'lax',
    ...configure({ providerId, baseUrl, callbackUrl, appOrigin }),
    maxAge: 0,
  });
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
