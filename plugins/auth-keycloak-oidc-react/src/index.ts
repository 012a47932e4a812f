/**
 * Backstage frontend for the `keycloak-oidc` auth provider: its API ref,
 * and for the new frontend system a module (the default export) with the
 * auth API, the sign-in page, the Settings entry and the outage notice; for
 * legacy apps the API factory, the sign-in page (or provider), the outage
 * notice and the Settings list.
 *
 * @packageDocumentation
 */

export {
  keycloakOidcAuthModule as default,
  keycloakOidcAuthModule,
} from './keycloakOidcAuthModule';
export {
  keycloakOidcAuthApiRef,
  type KeycloakOidcAuthApi,
} from './keycloakOidcAuthApiRef';
export type {
  SessionAvailability,
  SessionAvailabilityApi,
  SessionDependency,
} from './sessionAvailability/SessionAvailability';
export { keycloakOidcAuthApiExtension } from './extensions/keycloakOidcAuthApiExtension';
export { keycloakOidcSignInPageExtension } from './extensions/keycloakOidcSignInPageExtension';
export { keycloakOidcProviderSettingsExtension } from './extensions/keycloakOidcProviderSettingsExtension';
export { keycloakOidcOutageNoticeExtension } from './extensions/keycloakOidcOutageNoticeExtension';
export { keycloakOidcAuthApiFactory } from './keycloakOidcAuthApiFactory';
export { keycloakOidcSignInProvider } from './keycloakOidcSignInProvider';
export {
  KeycloakOidcSignInPage,
  type KeycloakOidcSignInPageProps,
} from './components/KeycloakOidcSignInPage';
export { KeycloakOidcOutageNotice } from './components/KeycloakOidcOutageNotice';
export { KeycloakOidcProviderSettings } from './KeycloakOidcProviderSettings';
export { KeycloakOidcProviderSettingsItem } from './KeycloakOidcProviderSettingsItem';
export { KeycloakIcon } from './KeycloakIcon';
