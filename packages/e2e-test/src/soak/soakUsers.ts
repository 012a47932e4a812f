/** A soak user: its account at the IdP, which the catalog mirrors. */
export interface SoakUser {
  name: string;
  password: string;
  idp: {
    /** the IdP's id of the user (Keycloak assigns its own) */
    sub: string;
    username: string;
    password: string;
    email: string;
    givenName: string;
    familyName: string;
  };
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
    const password = `soak-${n}`;
    return {
      name,
      password,
      idp: {
        sub: `50a50a50-0000-4000-8000-${n.padStart(12, '0')}`,
        username: name,
        password,
        email: `${name}@example.com`,
        givenName: 'Soak',
        familyName: `User ${n}`,
      },
    };
  });
}

/** The user as Backstage's Keycloak catalog module would ingest it. */
export function catalogEntityOf(user: SoakUser) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: {
      name: user.name,
      annotations: { 'keycloak.org/id': user.idp.sub },
    },
    spec: {
      profile: { email: user.idp.email },
      memberOf: ['platform-team'],
    },
  };
}
