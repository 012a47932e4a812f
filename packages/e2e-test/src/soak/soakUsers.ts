/** A soak user: the dev IdP's account and the catalog's User entity. */
export interface SoakUser {
  name: string;
  password: string;
  idp: {
    sub: string;
    username: string;
    password: string;
    email: string;
    givenName: string;
    familyName: string;
  };
  entity: object;
}

/**
 * `count` users, one per simulated browser, so no user reaches the
 * module's `maxSessionsPerUser` (a shared user would see its oldest
 * sessions evicted, which the soak would report as lost).
 */
export function soakUsers(count: number): SoakUser[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    const name = `soak-user-${n}`;
    const sub = `50a50a50-0000-4000-8000-${n.padStart(12, '0')}`;
    const password = `soak-${n}`;
    return {
      name,
      password,
      idp: {
        sub,
        username: name,
        password,
        email: `${name}@example.com`,
        givenName: 'Soak',
        familyName: `User ${n}`,
      },
      entity: {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'User',
        metadata: { name, annotations: { 'keycloak.org/id': sub } },
        spec: {
          profile: { email: `${name}@example.com` },
          memberOf: ['platform-team'],
        },
      },
    };
  });
}
