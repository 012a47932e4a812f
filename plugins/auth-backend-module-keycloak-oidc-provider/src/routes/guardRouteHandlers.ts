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
import type { Request, Response } from 'express';
import type { RequestBindings } from '../authenticator';
import { SessionEndedError } from '../errors';
import { assertAllowedRedirectUrl } from './redirectUrlPolicy';
import type { SessionStore } from '../session/types';

/**
 * Wraps Backstage's OAuth route handlers for one environment:
 * - `/start` refuses a `redirectUrl` off the app's allowed origins (and a
 *   redirect flow without one) with a 400 before anything is stored;
 * - the callback is refused with a precise 4xx (not a web-message page or
 *   redirect) when its state is missing, unknown, already used, or not
 *   bound to this browser's nonce cookie; otherwise the pending login is
 *   taken from the store exactly once and handed to the authenticator;
 * - `/refresh` answers 401 and clears the refresh cookie when the session
 *   has ended, and 503 naming the dependency when Redis or Keycloak failed
 *   (upstream would turn everything into a 401 and keep the cookie).
 */
export function guardRouteHandlers(
  handlers: AuthProviderRouteHandlers,
  options: {
    providerId: string;
    store: SessionStore;
    bindings: RequestBindings;
    appUrl: string;
    isOriginAllowed(origin: string): boolean;
    clearRefreshCookie(req: Request, res: Response): void;
  },
): AuthProviderRouteHandlers {
  const { providerId, store, bindings } = options;
  const nonceCookie = `${providerId}-nonce`;

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
      const { nonce } = decoded;
      const cookieNonce = req.cookies?.[nonceCookie];
      if (!cookieNonce) {
        throw new NotAllowedError(
          `The sign-in callback arrived without the ${nonceCookie} cookie; finish the sign-in in the browser that started it, within 10 minutes`,
        );
      }
      if (cookieNonce !== nonce) {
        throw new NotAllowedError(
          `The sign-in state does not belong to this browser (${nonceCookie} mismatch)`,
        );
      }
      const transaction = await store.takeLoginTransaction(state);
      if (!transaction) {
        throw new InputError(
          'Unknown, expired or already used sign-in state; start the sign-in again',
        );
      }
      bindings.pendingLogins.set(req, transaction);
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
          options.clearRefreshCookie(req, res);
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
