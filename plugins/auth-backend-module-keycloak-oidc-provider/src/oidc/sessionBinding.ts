import { issuerFromMetadataUrl } from '../backchannel/createLogoutTokenVerifier';
import type { KeycloakProviderOptions } from '../config/readProviderOptions';
import type { SessionRecord } from '../session/types';

/** The realm and client a session was made for. */
export interface SessionBinding {
  issuer: string;
  clientId: string;
}

/**
 * Where this environment makes sessions. From config, not discovery, so a
 * session can be checked (and served from the store) while Keycloak is down.
 */
export function bindingOf(options: KeycloakProviderOptions): SessionBinding {
  return {
    issuer: issuerFromMetadataUrl(options.metadataUrl),
    clientId: options.clientId,
  };
}

/**
 * Whether a stored session was made here. Two deployments sharing one Redis
 * and prefix must not serve, refresh or sign out each other's sessions: to
 * the other one it is a missing session. Records written before sessions
 * carried their binding are accepted.
 */
export function isBoundTo(
  record: Pick<SessionRecord, 'issuer' | 'clientId'>,
  binding: SessionBinding,
): boolean {
  return (
    (record.issuer === undefined || record.issuer === binding.issuer) &&
    (record.clientId === undefined || record.clientId === binding.clientId)
  );
}
