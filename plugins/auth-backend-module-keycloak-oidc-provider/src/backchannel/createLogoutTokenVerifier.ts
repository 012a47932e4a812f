import { isError, ServiceUnavailableError } from '@backstage/errors';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { KeycloakUnavailableError } from '../errors';
import { LogoutTokenVerifier, type MarkJtiSeen } from './LogoutTokenVerifier';

/** jose's verdicts on the token's header against good keys: the token's fault. */
const KEY_SELECTION_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/** A message and, when fetch hid it in its cause, the network error code. */
function describe(error: unknown): string {
  if (!isError(error)) {
    return String(error);
  }
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return cause?.code ? `${error.message} (${cause.code})` : error.message;
}

/**
 * The IdP's keys from its `jwks_uri`, located lazily so the backend starts
 * while Keycloak is down. jose caches the set and refetches it (at most every
 * 30 s) when a token names an unknown `kid`, which follows key rotation.
 * Failing to reach Keycloak is a KeycloakUnavailableError (503: the IdP may
 * retry), never a verdict on the token.
 */
function remoteKeys(
  jwksUri: string | (() => Promise<string>),
  timeoutMs: number,
): JWTVerifyGetKey {
  let keys: Promise<{ uri: string; getKey: JWTVerifyGetKey }> | undefined;
  const load = () => {
    if (!keys) {
      keys = (async () => {
        const uri = typeof jwksUri === 'string' ? jwksUri : await jwksUri();
        return {
          uri,
          getKey: createRemoteJWKSet(new URL(uri), {
            timeoutDuration: timeoutMs,
          }),
        };
      })();
      keys.catch(() => {
        keys = undefined; // locate again on the next token
      });
    }
    return keys;
  };

  return async (header, token) => {
    let located: { uri: string; getKey: JWTVerifyGetKey };
    try {
      located = await load();
    } catch (error) {
      if (error instanceof ServiceUnavailableError) {
        throw error;
      }
      throw new KeycloakUnavailableError(
        `Keycloak JWKS location unknown: ${describe(error)}`,
      );
    }
    try {
      return await located.getKey(header, token);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && KEY_SELECTION_ERRORS.has(code)) {
        throw error;
      }
      throw new KeycloakUnavailableError(
        `Keycloak JWKS at ${located.uri} unavailable: ${describe(error)}`,
      );
    }
  };
}

/**
 * The logout token verifier for one auth environment (one issuer and
 * client), checking signatures against the IdP's published keys.
 *
 * @param options.issuer - the realm's issuer as discovery reports it
 *   (see issuerFromMetadataUrl)
 * @param options.jwksUri - the IdP's `jwks_uri`, or a function discovering
 *   it on first use (e.g. from `KeycloakOidcClient.serverMetadata()`)
 * @param options.markJtiSeen - e.g. `SessionStore.markLogoutTokenSeen`
 */
export function createLogoutTokenVerifier(options: {
  issuer: string;
  clientId: string;
  jwksUri: string | (() => Promise<string>);
  markJtiSeen: MarkJtiSeen;
  /** milliseconds per JWKS fetch; default 5000 */
  timeoutMs?: number;
}): LogoutTokenVerifier {
  return new LogoutTokenVerifier({
    issuer: options.issuer,
    clientId: options.clientId,
    getKey: remoteKeys(options.jwksUri, options.timeoutMs ?? 5000),
    markJtiSeen: options.markJtiSeen,
  });
}

/**
 * The issuer a `metadataUrl` setting names: the URL itself, or the URL
 * without `/.well-known/openid-configuration`. Keycloak's issuer is
 * `https://<host>/realms/<realm>`, without a trailing slash.
 */
export function issuerFromMetadataUrl(metadataUrl: string): string {
  return metadataUrl
    .replace(/\/\.well-known\/openid-configuration\/?$/, '')
    .replace(/\/+$/, '');
}
