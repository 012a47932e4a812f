import { createApp } from '@backstage/frontend-defaults';
import { keycloakAuthModule } from './modules/auth';
import { navModule } from './modules/nav';
import { sessionPlugin } from './modules/session';

/**
 * Sign-in through the keycloak-oidc provider and one page about the
 * session; nothing else, so the auth behaviour is all there is to look at.
 */
export default createApp({
  features: [keycloakAuthModule, navModule, sessionPlugin],
});
