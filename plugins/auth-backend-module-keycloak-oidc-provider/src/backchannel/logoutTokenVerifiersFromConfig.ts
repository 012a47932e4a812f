import type { Config } from '@backstage/config';
import { readProviderOptions } from '../config/readProviderOptions';
import { KeycloakOidcClient } from '../oidc/KeycloakOidcClient';
import type { SessionStore } from '../session/types';
import {
  createLogoutTokenVerifier,
  issuerFromMetadataUrl,
} from './createLogoutTokenVerifier';
import type { LogoutTokenVerifier } from './LogoutTokenVerifier';

/**
 * One logout token verifier per configured auth environment of the
 * keycloak-oidc provider (each has its own realm and client). The IdP's
 * keys are discovered on the first logout token, so the backend starts
 * while Keycloak is down. Replayed `jti`s are remembered in the store, so
 * a token replayed to another replica is refused too.
 */
export function logoutTokenVerifiersFromConfig(
  rootConfig: Config,
  store: SessionStore,
): LogoutTokenVerifier[] {
  const providers = rootConfig.getOptionalConfig(
    'auth.providers.keycloak-oidc',
  );
  return (providers?.keys() ?? []).map(env => {
    // the callback URL plays no part in verifying logout tokens
    const options = readProviderOptions(providers!.getConfig(env), '');
    const client = new KeycloakOidcClient(options);
    return createLogoutTokenVerifier({
      issuer: issuerFromMetadataUrl(options.metadataUrl),
      clientId: options.clientId,
      jwksUri: async () => (await client.serverMetadata()).jwksUri,
      markJtiSeen: (jti, ttlMs) => store.markLogoutTokenSeen(jti, ttlMs),
      timeoutMs: options.timeoutMs,
    });
  });
}
