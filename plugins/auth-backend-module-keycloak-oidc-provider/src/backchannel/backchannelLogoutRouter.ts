import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { InputError, ServiceUnavailableError } from '@backstage/errors';
import { LogoutTokenRejectedError } from '../errors';
import { logText } from '../logging/logText';
import type { LogoutTokenSubject } from './LogoutTokenVerifier';
import {
  InvalidLogoutRequestError,
  readLogoutTokenParameter,
} from './readLogoutTokenParameter';
import {
  selectLogoutTokenVerifier,
  type LogoutTokenVerifierLike,
  type RoutableLogoutTokenVerifier,
} from './selectLogoutTokenVerifier';

/** Counts back-channel logouts; `reason` is a short stable code. */
export interface BackchannelLogoutMetrics {
  backchannelLogout(outcome: 'accepted' | 'rejected', reason?: string): void;
}

export interface BackchannelLogoutRouterOptions {
  /**
   * One verifier, or one per auth environment: the token's (unverified)
   * `iss` and `aud` pick the verifier, which then checks everything.
   */
  verifier: LogoutTokenVerifierLike | readonly RoutableLogoutTokenVerifier[];
  /**
   * Deletes the sessions of one Keycloak session (`sid`) or, given only
   * `sub`, every session of the user; returns how many.
   * `SessionQueries.deleteSessionsOf` has a compatible shape.
   */
  deleteSessionsOf(owner: LogoutTokenSubject): Promise<number>;
  logger: LoggerService;
  metrics?: BackchannelLogoutMetrics;
  /** Default 16 KiB; a logout token is well under 2 KiB */
  bodyLimitBytes?: number;
  /** Relative to where the handler is mounted */
  path?: string;
}

/**
 * A connect-style handler on `node:http` types, mounted with
 * `httpRouter.use(it)`; it reads the raw body itself, so it works whether or
 * not a body parser ran before it.
 */
export type BackchannelLogoutHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

export const BACKCHANNEL_LOGOUT_PATH = '/keycloak-oidc/backchannel-logout';

/** Every answer is no-store (spec section 2.8). */
function answer(res: ServerResponse, status: number, body?: object) {
  res.statusCode = status;
  res.setHeader('Cache-Control', 'no-store');
  if (body) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  } else {
    res.end();
  }
}

/** Narrows the verified claims to whom they sign out. */
function subjectOf(claims: { sub?: string; sid?: string }): LogoutTokenSubject {
  if (claims.sub) {
    return claims.sid
      ? { sub: claims.sub, sid: claims.sid }
      : { sub: claims.sub };
  }
  if (claims.sid) {
    return { sid: claims.sid };
  }
  throw new LogoutTokenRejectedError(
    'missing_sub_sid',
    'contains neither a "sub" nor a "sid" claim',
  );
}

/**
 * The RP side of OIDC Back-Channel Logout 1.0 at
 * `POST <mount>/keycloak-oidc/backchannel-logout`: Keycloak posts a signed
 * logout token when a user's Keycloak session ends (admin "Sign out",
 * session expiry, sign-out from another client) and the matching Backstage
 * sessions are deleted, so their refresh cookies stop working at once
 * instead of at the next refresh against Keycloak.
 *
 * Answers: 200 (empty) once deleted; 400 `invalid_request` with the reason
 * for anything wrong with the request or token, including bodies over the
 * limit; 503 when the session store or Keycloak's keys are unreachable, so
 * the IdP may retry.
 */
export function createBackchannelLogoutRouter(
  options: BackchannelLogoutRouterOptions,
): BackchannelLogoutHandler {
  const { deleteSessionsOf, logger, metrics } = options;
  // an array may still grow: environments register as their config is read
  const verifier: LogoutTokenVerifierLike =
    'verify' in options.verifier
      ? options.verifier
      : {
          verify: token =>
            selectLogoutTokenVerifier(
              options.verifier as readonly RoutableLogoutTokenVerifier[],
            ).verify(token),
        };
  const limit = options.bodyLimitBytes ?? 16 * 1024;
  const path = options.path ?? BACKCHANNEL_LOGOUT_PATH;

  const refuse = (res: ServerResponse, reason: string, message: string) => {
    logger.warn(`Back-channel logout refused: ${logText(message)}`);
    metrics?.backchannelLogout('rejected', reason);
    answer(res, 400, {
      error: 'invalid_request',
      error_description: message,
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    try {
      const token = await readLogoutTokenParameter(req, limit);
      const owner = subjectOf(await verifier.verify(token));
      const deleted = await deleteSessionsOf(owner);
      logger.info(
        `Back-channel logout: deleted ${deleted} session(s) of sub=${logText(
          owner.sub ?? '-',
        )} sid=${logText(owner.sid ?? '-')}`,
        { sub: owner.sub, sid: owner.sid, sessions: deleted },
      );
      metrics?.backchannelLogout('accepted');
      answer(res, 200);
    } catch (error) {
      if (
        error instanceof LogoutTokenRejectedError ||
        error instanceof InvalidLogoutRequestError
      ) {
        refuse(res, error.reason, error.message);
      } else if (error instanceof InputError) {
        refuse(res, 'invalid_request', error.message);
      } else if (error instanceof ServiceUnavailableError) {
        logger.warn(`Back-channel logout failed: ${logText(error.message)}`);
        metrics?.backchannelLogout('rejected', 'unavailable');
        answer(res, 503, {
          error: 'temporarily_unavailable',
          error_description: error.message,
        });
      } else {
        throw error;
      }
    }
  }

  return (req, res, next) => {
    if ((req.url ?? '').split('?')[0] !== path) {
      next();
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      answer(res, 405, {
        error: 'invalid_request',
        error_description: 'back-channel logout requires POST',
      });
      return;
    }
    handle(req, res).catch(next);
  };
}
