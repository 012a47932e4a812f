import type { KeycloakEnvironment } from '../authResult';
import type { LogoutTokenReplayCache } from '../session/types';
import { createLogoutTokenVerifier } from './createLogoutTokenVerifier';
import type { LogoutTokenVerifier } from './LogoutTokenVerifier';

/**
 * The logout token verifier of one auth environment (its own realm and
 * client), on the OIDC client the provider made from its config. The IdP's
 * keys are discovered on the first logout token, so the backend starts while
 * Keycloak is down. Replayed `jti`s are remembered in the store, so a token
 * replayed to another replica is refused too.
 */
export function logoutTokenVerifierFor(
  { options, client, binding }: KeycloakEnvironment,
  seen: LogoutTokenReplayCache,
): LogoutTokenVerifier {
  return createLogoutTokenVerifier({
    issuer: binding.issuer,
    clientId: binding.clientId,
    jwksUri: async () => (await client.serverMetadata()).jwksUri,
    markJtiSeen: (jti, ttlMs) => seen.markSeen(jti, ttlMs),
    timeoutMs: options.timeoutMs,
  });
}
