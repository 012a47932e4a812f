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
} from './authenticator';
export {
  SessionEndedError,
  SessionStoreUnavailableError,
  KeycloakUnavailableError,
} from './errors';
export type {
  LoginTransaction,
  ProfileClaims,
  SessionRecord,
  SessionStore,
  StoredSession,
} from './session/types';
export type { Freshness } from './refresh/freshness';
export { RedisSessionStore } from './session/RedisSessionStore';
export { MemorySessionStore } from './session/MemorySessionStore';
export type {
  SessionStoreOptions,
  RedisConnectionOptions,
} from './config/readSessionStoreOptions';
