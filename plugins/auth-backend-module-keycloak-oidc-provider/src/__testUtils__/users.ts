/** The dev IdP's default users (packages/keycloak-dev-idp/src/users.mjs). */
export const devUsers = {
  alice: {
    sub: '5b0d5c52-3a2e-4f4c-9c1e-0a11ce000001',
    password: 'alice',
    email: 'alice@example.com',
  },
  bob: {
    sub: '6c1e6d63-4b3f-4a5d-8d2f-0b0b00000002',
    password: 'bob',
    email: 'bob@example.com',
  },
  carol: {
    sub: '7d2f7e74-5c40-4b6e-9e30-0ca401000003',
    password: 'carol',
    email: 'carol@example.com',
  },
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
