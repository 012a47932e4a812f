import type { CookieConfigurer } from '@backstage/plugin-auth-node';
import type { Request, Response } from 'express';

/**
 * Clears `<providerId>-refresh-token` (and any chunked parts) with the same
 * attributes Backstage's OAuthCookieManager set it with, so the browser
 * really drops it. Mirrors its default cookie configurer.
 */
export function clearRefreshCookie(
  req: Request,
  res: Response,
  options: {
    providerId: string;
    baseUrl: string;
    callbackUrl: string;
    appOrigin: string;
    cookieConfigurer?: CookieConfigurer;
  },
): void {
  const { providerId, callbackUrl } = options;
  const appOrigin = req.get('origin') ?? options.appOrigin;
  const configured = options.cookieConfigurer
    ? options.cookieConfigurer({
        providerId,
        baseUrl: options.baseUrl,
        callbackUrl,
        appOrigin,
      })
    : defaultCookieConfig(providerId, callbackUrl, appOrigin);
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    ...configured,
    maxAge: 0,
  };
  const name = `${providerId}-refresh-token`;
  const cookies: Record<string, string> = req.cookies ?? {};
  res.cookie(name, '', cookieOptions);
  for (let i = 0; cookies[`${name}-${i}`]; i++) {
    res.cookie(`${name}-${i}`, '', cookieOptions);
  }
}

function defaultCookieConfig(
  providerId: string,
  callbackUrl: string,
  appOrigin: string,
) {
  const { hostname, pathname, protocol } = new URL(callbackUrl);
  const secure = protocol === 'https:';
  const sameSite: 'lax' | 'none' =
    new URL(appOrigin).hostname !== hostname && secure ? 'none' : 'lax';
  const path = pathname.endsWith(`${providerId}/handler/frame`)
    ? pathname.slice(0, -'/handler/frame'.length)
    : `${pathname}/${providerId}`;
  return { path, secure, sameSite };
}
