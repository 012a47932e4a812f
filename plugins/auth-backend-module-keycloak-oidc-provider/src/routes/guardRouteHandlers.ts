import {
  AuthenticationError,
  InputError,
  NotAllowedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import type { LoggerService } from '@backstage/backend-plugin-api';
import {
  decodeOAuthState,
  type AuthProviderRouteHandlers,
  type OAuthAuthenticator,
} from '@backstage/plugin-auth-node';
import type { Request, Response } from 'express';
import { SessionEndedError } from '../errors';
import { logText } from '../logging/logText';
import type { SessionStore } from '../session/types';
import { isSameBrowser } from '../signIn/browserBinding';
import {
  isBrowserNavigation,
  outageDependencyOf,
  sendOutagePage,
} from './outagePage';
import { loginCookieName } from './providerCookies';
import { assertAllowedRedirectUrl } from './redirectUrlPolicy';

/** Responses the outage page was written to, so nothing answers twice. */
const outagePageSent = new WeakSet<Response>();

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
 *   dependency when Redis or Keycloak failed;
 * - `/start` and the callback, opened by a browser (Accept: text/html),
 *   answer an outage of Redis or Keycloak with a 503 HTML page naming the
 *   dependency (outagePage.ts), never the error's message; the callback's
 *   own failures inside upstream's handler are caught by
 *   `guardCallbackAuthenticator`. Programs keep the JSON 503.
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
    logger: LoggerService;
  },
): AuthProviderRouteHandlers {
  const { store, logger } = options;
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
      try {
        return await handlers.start(req, res);
      } catch (error) {
        if (answerOutage(req, res, error, '/start', logger)) {
          return undefined;
        }
        throw error;
      }
    },

    async frameHandler(req, res) {
      try {
        return await guardedCallback(req, res);
      } catch (error) {
        if (outagePageSent.has(res)) {
          // guardCallbackAuthenticator answered already; this is upstream
          // failing to write its own answer over it
          return undefined;
        }
        if (answerOutage(req, res, error, 'the sign-in callback', logger)) {
          return undefined;
        }
        throw error;
      }
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

  async function guardedCallback(req: Request, res: Response) {
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
  }
}

/**
 * The one rule for a browser's sign-in during an outage: when `error` says
 * Redis or Keycloak is down and the request is a browser navigation, answer
 * the outage page (503, Retry-After) and log the full cause at warn.
 * Returns whether it answered.
 */
function answerOutage(
  req: Request,
  res: Response,
  error: unknown,
  route: string,
  logger: LoggerService,
): boolean {
  const dependency = outageDependencyOf(error);
  if (!dependency || !isBrowserNavigation(req) || res.headersSent) {
    return false;
  }
  logger.warn(
    `keycloak-oidc ${route} answered the ${dependency} outage page: ${logText(
      (error as Error).message,
    )}`,
  );
  sendOutagePage(res, dependency);
  outagePageSent.add(res);
  return true;
}

/**
 * The callback's token exchange, userinfo call and session write run inside
 * upstream's frame handler, which reports every failure to the app with the
 * error's message (a web-message page, or `?error=` on the redirect flow).
 * This answers an outage there with the outage page first; upstream's own
 * answer then fails on the sent headers, and the guard's frame handler
 * drops that failure.
 */
export function guardCallbackAuthenticator<TContext, TProfile>(
  authenticator: OAuthAuthenticator<TContext, TProfile>,
  logger: LoggerService,
): OAuthAuthenticator<TContext, TProfile> {
  return {
    ...authenticator,
    async authenticate(input, ctx) {
      try {
        return await authenticator.authenticate(input, ctx);
      } catch (error) {
        const res = input.req.res;
        if (res) {
          answerOutage(input.req, res, error, 'the sign-in callback', logger);
        }
        throw error;
      }
    },
  };
}
