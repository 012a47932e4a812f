import type { LoggerService } from '@backstage/backend-plugin-api';
import type { Request } from 'express';
import { logText } from '../logging/logText';
import { isBoundTo, type SessionBinding } from '../oidc/sessionBinding';
import { refreshCookieName } from '../routes/providerCookies';
import { isWellFormedHandle } from '../session/sessionHandle';
import type { SessionStore } from '../session/types';

/**
 * A sign-in callback from a browser that still holds a refresh cookie:
 * Backstage overwrites that cookie with the new session's handle, after
 * which nothing can reach the older session, so it is deleted now instead
 * of lingering in the store (and in its user's maxSessionsPerUser count)
 * until its TTL. Whoever it belonged to: it is the same browser.
 *
 * Only the stored session ends; its refresh token is not revoked at
 * Keycloak, because the new login usually rides the same Keycloak SSO (and
 * client) session, which a revocation would end along with it.
 *
 * Best effort: the new session exists already, so a failure only leaves the
 * older one to expire; it is logged, never thrown.
 */
export async function endReplacedSession(
  { req, handle }: { req: Request; handle: string },
  deps: {
    store: SessionStore;
    logger: LoggerService;
    providerId: string;
    binding: SessionBinding;
  },
): Promise<void> {
  const previous: unknown = req.cookies?.[refreshCookieName(deps.providerId)];
  if (
    typeof previous !== 'string' ||
    !isWellFormedHandle(previous) ||
    previous === handle
  ) {
    return;
  }
  const { store, logger, binding } = deps;
  try {
    const found = await store.getSession(previous);
    // another deployment's session is not ours to sign out
    if (!found || !isBoundTo(found.record, binding)) {
      return;
    }
    if (await store.deleteSession(previous)) {
      const { sub } = found.record;
      logger.info(
        `Signed out the older session of keycloak user ${logText(sub)}: the browser holding it signed in again`,
        { keycloakSub: sub },
      );
    }
  } catch (error) {
    // a store's error may quote the handle it was given
    const reason = String((error as Error)?.message ?? error)
      .split(previous)
      .join('<handle>');
    logger.warn(
      `Could not sign out the older session of a browser that signed in again; it stays in the session store until it expires: ${logText(reason)}`,
    );
  }
}
