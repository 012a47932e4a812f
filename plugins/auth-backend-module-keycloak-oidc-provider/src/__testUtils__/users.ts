/** The dev IdP's default users (packages/keycloak-dev-idp/src/users.mjs). */
export const devUsers = {
  alice: { sub: 'ALICE_SUB', password: 'alice', email: 'alice@example.com' },
  bob: { sub: 'BOB_SUB', password: 'bob', email: 'bob@example.com' },
  carol: { sub: 'CAROL_SUB', password: 'carol', email: 'carol@example.com' },
} as const;

export type DevUserName = keyof typeof devUsers;

/** Catalog users matching the dev IdP's, as Backstage's Keycloak module would ingest them. */
export function catalogUsers(names: DevUserName[] = ['alice', 'bob']) {
  return names.map(name => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: {
      name,
      namespace: 'default',
      annotations: { 'keycloak.org/id': devUsers[name].sub },
    },
    spec: { profile: { email: devUsers[name].email }, memberOf: [] },
  }));
}
