import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import authPlugin from '@backstage/plugin-auth-backend';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import type { JsonValue } from '@backstage/types';
import { closingDatabaseServiceFactory } from '@redis-session/test-support';
import request from 'supertest';
import { authModuleKeycloakOidcProvider } from './module';

const provider = {
  development: {
    metadataUrl: 'http://127.0.0.1:1/realms/none',
    clientId: 'backstage',
    clientSecret: 'secret',
  },
};

type DatabaseClients = Parameters<typeof closingDatabaseServiceFactory>[0];

function start(session: JsonValue, databaseClients?: DatabaseClients) {
  return startTestBackend({
    features: [
      authPlugin,
      authModuleKeycloakOidcProvider,
      catalogServiceMock.factory(),
      closingDatabaseServiceFactory(databaseClients),
      mockServices.rootConfig.factory({
        data: {
          app: { baseUrl: 'http://localhost:3000' },
          auth: {
            environment: 'development',
            session,
            providers: { 'keycloak-oidc': provider },
          },
        },
      }),
    ],
  });
}

describe('authModuleKeycloakOidcProvider', () => {
  it('registers the keycloak-oidc routes', async () => {
    const backend = await start({ store: 'memory' });
    // Keycloak is unreachable: /start names it instead of failing with a 500
    const res = await request(backend.server).get(
      '/api/auth/keycloak-oidc/start?env=development',
    );
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(
      /^Keycloak discovery at http:\/\/127\.0\.0\.1:1\/realms\/none failed/,
    );
    expect(res.body.error.stack).toBeUndefined();
    await backend.stop();
  });

  // Backstage leaves SQLite clients open at shutdown; their pool's reaping
  // interval kept Jest workers alive after the last file.
  it('leaves no database pool behind once stopped', async () => {
    const clients: NonNullable<DatabaseClients> = [];
    const backend = await start({ store: 'memory' }, clients);
    expect(clients).toHaveLength(1); // the auth plugin's
    expect(clients[0].client.pool).toBeDefined();
    await backend.stop();
    expect(clients[0].client.pool).toBeUndefined();
  });

  it('fails startup on an invalid session config, naming the key', async () => {
    await expect(
      start({ store: 'redis', redis: { host: 'localhost', port: 99999 } }),
    ).rejects.toThrow(/auth\.session\.redis\.port/);
  });

  describe('under NODE_ENV=production', () => {
    const nodeEnv = process.env.NODE_ENV;
    beforeEach(() => {
      process.env.NODE_ENV = 'production';
    });
    afterEach(() => {
      process.env.NODE_ENV = nodeEnv;
    });

    it('refuses to start with the memory store', async () => {
      await expect(start({ store: 'memory' })).rejects.toThrow(
        /Invalid config at 'auth\.session\.store': 'memory' loses every session/,
      );
    });

    it('starts with a warning when told to', async () => {
      const backend = await start({
        store: 'memory',
        dangerouslyAllowInsecureProduction: true,
      });
      // it serves: /start names the unreachable Keycloak
      const res = await request(backend.server).get(
        '/api/auth/keycloak-oidc/start?env=development',
      );
      expect(res.status).toBe(503);
      await backend.stop();
    });
  });
});
