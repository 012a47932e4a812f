import { DevIdp } from './DevIdp';
import type { KeycloakRealm } from './KeycloakRealm';
import { KeycloakServer } from './KeycloakServer';

/**
 * The identity provider a story runs against: the dev IdP, or a real
 * Keycloak realm. Both answer on Keycloak's URLs and login form; what
 * differs (restarts, counting grants) is behind these methods.
 */
export interface IdpUnderTest {
  readonly name: string;
  readonly issuer: string;
  /** A restart that loses every session (and the SSO cookie's session) */
  restartLosingSessions(): Promise<void>;
  /** Refresh grants (successful, failed) the IdP has seen so far */
  refreshGrants(): Promise<{ granted: number; refused: number }>;
  stop(): Promise<void>;
}

export async function startDevIdpUnderTest(): Promise<IdpUnderTest> {
  const idp = await DevIdp.start();
  return {
    name: 'the dev IdP',
    issuer: idp.issuer,
    restartLosingSessions: () => idp.restart(),
    async refreshGrants() {
      const stats = await idp.stats();
      return { granted: stats.refreshGrants, refused: stats.refreshErrors };
    },
    stop: () => idp.stop(),
  };
}

/**
 * Real Keycloak with `persistent-user-sessions` disabled, so a restart
 * loses sessions as the stories expect (with the feature on, Keycloak 26's
 * default, users stay signed in: src/keycloak/restarts.test.ts).
 */
export async function startKeycloakUnderTest(): Promise<IdpUnderTest> {
  const keycloak = await KeycloakServer.start({
    disabledFeatures: ['persistent-user-sessions'],
  });
  const realm: KeycloakRealm = await keycloak.createRealm('backstage');
  return {
    name: `Keycloak ${keycloak.version}`,
    issuer: realm.issuer,
    restartLosingSessions: () => keycloak.restart(),
    async refreshGrants() {
      return {
        granted: (await realm.events(['REFRESH_TOKEN'])).length,
        refused: (await realm.events(['REFRESH_TOKEN_ERROR'])).length,
      };
    },
    stop: () => keycloak.dispose(),
  };
}
