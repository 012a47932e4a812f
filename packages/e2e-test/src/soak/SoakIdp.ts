import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@redis-session/test-support';
import { DevIdp } from '../fixtures/DevIdp';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import { TcpFaultProxy } from '../fixtures/TcpFaultProxy';
import type { SoakUser } from './soakUsers';

export type SoakIdpKind = 'dev' | 'keycloak';

/**
 * The IdP the soak runs against, behind a TCP fault proxy on the port its
 * issuer names, with refresh-token rotation and reuse detection on.
 */
export interface SoakIdp {
  /** for the report: which IdP and version */
  readonly description: string;
  readonly issuer: string;
  /** in front of it: slow answers, a graceful or abrupt stop */
  readonly faults: TcpFaultProxy;
  /** `users` with the `sub` the IdP gave each (the catalog annotates it) */
  readonly users: SoakUser[];
  /** A restart that loses every session (and keeps the users). */
  restartLosingSessions(): Promise<void>;
  /** Refresh grants answered since it started, or undefined if unknown */
  refreshGrants(): Promise<number | undefined>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The dev IdP (oidc-provider): rotation on, and a reused refresh token
 * revokes the whole grant, stricter than Keycloak.
 */
export async function startDevSoakIdp(
  users: SoakUser[],
  dir: string,
): Promise<SoakIdp> {
  const usersFile = join(dir, 'idp-users.json');
  writeFileSync(usersFile, JSON.stringify(users.map(u => u.idp)));
  const idp = await DevIdp.start(['--users-file', usersFile], {
    proxied: true,
  });
  let grantsBeforeRestarts = 0;
  const grants = () =>
    idp.stats().then(
      s => s.refreshGrants ?? 0,
      () => 0, // unreachable right now: counted at the next sample
    );
  return {
    description: 'the dev IdP',
    issuer: idp.issuer,
    faults: idp.faults,
    users,
    async restartLosingSessions() {
      grantsBeforeRestarts += await grants();
      await idp.restart();
    },
    async refreshGrants() {
      return grantsBeforeRestarts + (await grants());
    },
    output: () => idp.output(),
    stop: () => idp.stop(),
  };
}

/**
 * A real Keycloak (KEYCLOAK_HOME, `kc.sh start-dev`) with "Revoke Refresh
 * Token" on and max reuse 0, and persistent user sessions off, so that a
 * restart loses the sessions (with them on, Keycloak 26 keeps them, and
 * "the IdP restart" would be one more outage). Its issuer names the
 * proxy's port: in dev mode Keycloak takes its URL from the request.
 */
export async function startKeycloakSoakIdp(
  users: SoakUser[],
): Promise<SoakIdp> {
  const server = await KeycloakServer.start({
    disabledFeatures: ['persistent-user-sessions'],
  });
  let proxy: TcpFaultProxy | undefined;
  try {
    proxy = await TcpFaultProxy.listen(await freePort(), {
      host: '127.0.0.1',
      port: server.port,
    });
    const realm = await server.createRealm('soak', {
      realm: { revokeRefreshToken: true, refreshTokenMaxReuse: 0 },
    });
    const withIds: SoakUser[] = [];
    for (const user of users) {
      const { id } = await (
        await server.admin()
      ).users.create({
        realm: realm.name,
        username: user.idp.username,
        email: user.idp.email,
        emailVerified: true,
        firstName: user.idp.givenName,
        lastName: user.idp.familyName,
        enabled: true,
        credentials: [
          { type: 'password', value: user.password, temporary: false },
        ],
      });
      withIds.push({ ...user, idp: { ...user.idp, sub: id } });
    }
    const faults = proxy;
    return {
      description: `Keycloak ${server.version}`,
      issuer: `http://localhost:${faults.port}/realms/${realm.name}`,
      faults,
      users: withIds,
      restartLosingSessions: () => server.restart(),
      refreshGrants: async () => undefined,
      output: () => server.output(),
      async stop() {
        await faults.cut();
        await server.dispose();
      },
    };
  } catch (error) {
    await proxy?.cut();
    await server.dispose();
    throw error;
  }
}
