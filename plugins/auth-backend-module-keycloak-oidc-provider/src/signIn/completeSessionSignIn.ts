import type { LoggerService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError } from '@backstage/errors';
import type {
  BackstageSignInResult,
  SignInResolver,
} from '@backstage/plugin-auth-node';
import { isSessionAuthResult, type KeycloakAuthResult } from '../authResult';
import { logText } from '../logging/logText';
import type { SessionMetrics } from '../metrics/SessionMetrics';
import type { SessionStore } from '../session/types';
import { identityOf } from './resolvedIdentity';
import { isResolverOutage } from './resolverOutage';

/**
 * The sign-in resolver decides whether a Keycloak login becomes a Backstage
 * sign-in; this applies its verdict to the stored session. A refused login
 * leaves no session behind, and the session the browser held before alive.
 * A resolver that got no answer (resolverOutage.ts) refused nothing: that
 * is a 503, and a refreshed session stays.
 * An accepted one ends that older session and (like a refresh that resolves
 * to another entity) records which entity the session signed in as, so the
 * admin API can find it by user and log lines can name the user. Logins are
 * counted by verdict.
 *
 * A refresh does not always run the resolver: one that called Keycloak has
 * its verdict already (the authenticator resolved before storing the
 * tokens), and one answered from the stored tokens reissues the Backstage
 * token from the identity resolved within `identityCacheSeconds`. A
 * refresh that did resolve records the identity for the next ones.
 */
export function completeSessionSignIn(
  resolver: SignInResolver<KeycloakAuthResult>,
  deps: {
    store: SessionStore;
    logger: LoggerService;
    metrics: SessionMetrics;
    identityCacheSeconds: number;
    now?: () => number;
  },
): SignInResolver<KeycloakAuthResult> {
  const { store, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  return async (info, ctx) => {
    const result = info.result;
    if (!isSessionAuthResult(result)) {
      return resolver(info, ctx);
    }
    const handle = result.session.refreshToken!;
    const { isNew, entityRef, signedIn, identity } = result.sessionSignIn;
    if (!isNew && signedIn) {
      return signedIn;
    }
    let signIn: BackstageSignInResult;
    try {
      signIn =
        !isNew && identity
          ? await ctx.issueToken({ claims: identity.claims })
          : await resolver(info, ctx);
    } catch (error) {
      const outage = isResolverOutage(error);
      if (isNew) {
        metrics.login(outage ? 'error' : 'refused');
        await store.deleteSession(handle).catch(() => {});
      }
      if (outage) {
        throw new ServiceUnavailableError(
          `The sign-in resolver could not get an answer (the catalog is unreachable or failing); ${
            isNew ? 'try signing in again' : 'the session is kept'
          }: ${logText((error as Error).message)}`,
          error,
        );
      }
      throw error;
    }
    if (isNew) {
      metrics.login('ok');
      await result.sessionSignIn.endReplacedSession?.();
    }
    if (!isNew && identity) {
      return signIn;
    }
    const resolved = identityOf(signIn, now());
    const caching = deps.identityCacheSeconds > 0;
    const sub = resolved?.claims.sub;
    if (sub && (caching || sub !== entityRef)) {
      await store
        .setEntityRef(handle, sub, caching ? resolved : undefined)
        .catch(error =>
          logger.warn(
            `Could not record the session user: ${logText(error.message)}`,
          ),
        );
    }
    return signIn;
  };
}
