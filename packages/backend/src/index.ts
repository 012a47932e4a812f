/*
 * The example Backstage backend: the app backend serving packages/app's
 * build, the auth plugin with the keycloak-oidc module, and a catalog
 * holding the users that sign in.
 *
 * Backstage's own `oidc` provider module is registered too, as the baseline
 * for comparisons (benchmarks, e2e tests). It only mounts routes when
 * `auth.providers.oidc` is configured, and then needs `auth.session.secret`
 * (see README.md).
 *
 * Backstage's community Keycloak catalog module ingests the realm's users
 * and groups when `catalog.providers.keycloakOrg` is configured (the
 * recommended production setup: users come from Keycloak, with Keycloak's
 * own ids in `keycloak.org/id`); without that block it adds nothing.
 */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(
  import('@redis-session/plugin-auth-backend-module-keycloak-oidc-provider'),
);
backend.add(import('@backstage/plugin-auth-backend-module-oidc-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage-community/plugin-catalog-backend-module-keycloak'),
);

backend.start();
