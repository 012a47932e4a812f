/**
 * Backstage frontend for the `keycloak-oidc` auth provider: its API ref,
 * and for the new frontend system a module (the default export) with the
 * auth API, the sign-in page and the Settings entry; for legacy apps the
 * API factory, the sign-in provider and the Settings list.
 *
 * @packageDocumentation
 */

export {
  keycloakOidcAuthModule as default,
  keycloakOidcAuthModule,
} from './keycloakOidcAuthModule';
export { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';
export { keycloakOidcAuthApiExtension } from './extensions/keycloakOidcAuthApiExtension';
export { keycloakOidcSignInPageExtension } from './extensions/keycloakOidcSignInPageExtension';
export { keycloakOidcProviderSettingsExtension } from './extensions/keycloakOidcProviderSettingsExtension';
export { keycloakOidcAuthApiFactory } from './keycloakOidcAuthApiFactory';
export { keycloakOidcSignInProvider } from './keycloakOidcSignInProvider';
export { KeycloakOidcProviderSettings } from './KeycloakOidcProviderSettings';
export { KeycloakOidcProviderSettingsItem } from './KeycloakOidcProviderSettingsItem';
export { KeycloakIcon } from './KeycloakIcon';
