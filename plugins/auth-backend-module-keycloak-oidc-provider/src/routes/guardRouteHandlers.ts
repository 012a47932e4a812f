import {
  AuthenticationError,
  InputError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  decodeOAuthState,
  type AuthProviderRouteHandlers,
} from '@backstage/plugin-auth-node';
import { SessionEndedError } from '../errors';
import type { SessionStore } from '../session/types';
import { isSameBrowser } from '../signIn/browserBinding';
import { loginCookieName } from './providerCookies';
import { assertAllowedRedirectUrl } from './redirectUrlPolicy';

/**
 * Wraps Backstage's OAuth route handlers for one environment so bad input
 * gets a precise 4xx and an outage a 503:
 * - `/start` refuses a `redirectUrl` off the app's allowed origins (and a
 *   redirect flow without one) with a 400 before anything is stored;
 * - the callback is refused with a 4xx when its state is missing, names a
 *   foreign redirect, is not bound to this browser's nonce cookie, has no
 *   pending login (unknown, expired, already used), or arrives without the
 *   HttpOnly login cookie that `/start` set in the browser that began it
 *   (the nonce is readable from the state, so it alone binds nothing);
 * - `/refresh` answers 401 when the session has ended and 503 naming the
 *   dependency when Redis or Keycloak failed.
 *
 * Why not upstream's own answers: plugin-auth-node's
 * `createOAuthRouteHandlers` (src/oauth/createOAuthRouteHandlers.ts) renders
 * every callback failure, its own nonce check included, as a 200 web-message
 * page (or a redirect to the state's `redirectUrl`), and wraps every refresh
 * failure in `AuthenticationError('Refresh failed')`. Neither has a seam for
 * the status code, so the callback is judged before it runs and our own
 * typed refresh errors are unwrapped after.
 */
export function guardRouteHandlers(
  handlers: AuthProviderRouteHandlers,
  options: {
    providerId: string;
    store: SessionStore;
    appUrl: string;
    isOriginAllowed(origin: string): boolean;
  },
): AuthProviderRouteHandlers {
  const { store } = options;
  // the name OAuthCookieManager gives the nonce cookie
  const nonceCookie = `${options.providerId}-nonce`;
  const loginCookie = loginCookieName(options.providerId);

  function checkRedirect(flow: unknown, redirectUrl: unknown) {
    if (redirectUrl !== undefined) {
      if (typeof redirectUrl !== 'string') {
        throw new InputError('redirectUrl must be a single URL');
      }
      assertAllowedRedirectUrl(redirectUrl, options);
    } else if (flow === 'redirect') {
      throw new InputError('flow=redirect needs a redirectUrl');
    }
  }

  return {
    ...handlers,

    async start(req, res) {
      checkRedirect(req.query.flow, req.query.redirectUrl);
      return handlers.start(req, res);
    },

    async frameHandler(req, res) {
      const state = req.query.state;
      if (typeof state !== 'string' || state.length === 0) {
        throw new InputError('The sign-in callback has no state parameter');
      }
      const decoded = decodeOAuthState(state);
      // the state travels through the browser: check it again before
      // upstream redirects to it, even on a failed callback
      checkRedirect(decoded.flow, decoded.redirectUrl);
      const cookieNonce = req.cookies?.[nonceCookie];
      if (!cookieNonce) {
        throw new NotAllowedError(
          `The sign-in callback arrived without the ${nonceCookie} cookie; finish the sign-in in the browser that started it, within 5 minutes`,
        );
      }
      if (cookieNonce !== decoded.nonce) {
        throw new NotAllowedError(
          `The sign-in state does not belong to this browser (${nonceCookie} mismatch)`,
        );
      }
      // only looked at: the authenticator takes it, exactly once
      const pending = await store.peekLoginTransaction(state);
      if (!pending) {
        throw new InputError(
          'Unknown, expired or already used sign-in state; start the sign-in again',
        );
      }
      const loginSecret = req.cookies?.[loginCookie];
      if (!loginSecret) {
        throw new NotAllowedError(
          `The sign-in callback arrived without the ${loginCookie} cookie; finish the sign-in in the browser that started it`,
        );
      }
      if (!isSameBrowser(loginSecret, pending.browserBinding)) {
        throw new NotAllowedError(
          `The sign-in state does not belong to this browser (${loginCookie} mismatch)`,
        );
      }
      return handlers.frameHandler(req, res);
    },

    async refresh(req, res) {
      try {
        await handlers.refresh!(req, res);
      } catch (error) {
        const cause =
          error instanceof AuthenticationError && error.cause
            ? error.cause
            : error;
        if (cause instanceof SessionEndedError) {
          throw new AuthenticationError(cause.message);
        }
        if (cause instanceof ServiceUnavailableError) {
          throw cause;
        }
        throw error;
      }
    },
  };
}
