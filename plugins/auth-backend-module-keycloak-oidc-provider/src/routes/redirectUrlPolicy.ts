import { InputError } from '@backstage/errors';

/**
 * Where a `flow=redirect` login may send the browser afterwards: only to
 * the app's own origin or an origin Backstage's `isOriginAllowed` accepts
 * (auth.experimentalExtraAllowedOrigins). Upstream's route handlers
 * (plugin-auth-node createOAuthRouteHandlers) redirect to any `redirectUrl`
 * with the refresh cookie set, after a login and after a failed callback:
 * an open redirect a phishing link can use.
 */
export function assertAllowedRedirectUrl(
  redirectUrl: string,
  options: { appUrl: string; isOriginAllowed(origin: string): boolean },
): void {
  const appOrigin = new URL(options.appUrl).origin;
  let origin: string;
  try {
    // relative URLs resolve against the app; `//host/x` does not stay on it
    origin = new URL(redirectUrl, options.appUrl).origin;
  } catch {
    throw new InputError('redirectUrl is not a valid URL');
  }
  if (origin !== appOrigin && !options.isOriginAllowed(origin)) {
    throw new InputError(
      `redirectUrl must be on the app's origin (${appOrigin}) or an allowed origin, not '${origin}'`,
    );
  }
}
