import { createApp } from '@backstage/frontend-defaults';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import keycloakOidcAuth from '@redis-session/plugin-auth-keycloak-oidc-react';
import { navModule } from './modules/nav';
import { sessionPlugin } from './modules/session';

/**
 * Sign-in through the keycloak-oidc provider, one page about the session
 * and Settings (where Authentication Providers lists Keycloak); nothing
 * else, so the auth behaviour is all there is to look at.
 */
export default createApp({
  features: [keycloakOidcAuth, navModule, sessionPlugin, userSettingsPlugin],
});
