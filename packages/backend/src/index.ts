/*
 * The example Backstage backend: the auth plugin with the keycloak-oidc
 * module, and a catalog holding the users that sign in.
 */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

backend.add(import('@backstage/plugin-auth-backend'));
backend.add(
  import('@redis-session/plugin-auth-backend-module-keycloak-oidc-provider'),
);
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('./sessionDemoPlugin'));

backend.start();
