import type { Entity } from '@backstage/catalog-model';
import type { KeycloakRealm } from './KeycloakRealm';
import { devUsers, type DevUserName } from './users';

/**
 * Catalog users for a real Keycloak realm's users, as Backstage's Keycloak
 * catalog module ingests them: the id Keycloak itself assigned goes in the
 * `keycloak.org/id` annotation.
 */
export async function keycloakUserEntities(
  realm: KeycloakRealm,
  names: DevUserName[],
): Promise<Entity[]> {
  return Promise.all(
    names.map(async name => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'User',
      metadata: {
        name,
        namespace: 'default',
        annotations: { 'keycloak.org/id': await realm.userId(name) },
      },
      spec: { profile: { email: devUsers[name].email }, memberOf: [] },
    })),
  );
}
