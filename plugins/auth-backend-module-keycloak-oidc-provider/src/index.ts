/**
 * Backstage auth backend module: the `keycloak-oidc` provider with OIDC
 * sessions and refresh tokens kept server-side in Redis.
 *
 * @packageDocumentation
 */

export { authModuleKeycloakOidcProvider as default } from './module';
export { keycloakSignInResolvers, KEYCLOAK_ID_ANNOTATION } from './resolvers';
export type {
  KeycloakAuthResult,
  KeycloakIdTokenClaims,
  KeycloakOidcProfile,
} from './authResult';
export {
  KeycloakSessionEndedError,
  KeycloakUnavailableError,
  SessionEndedError,
  SessionStoreUnavailableError,
} from './errors';
export type { OutageDependency } from './errors';
