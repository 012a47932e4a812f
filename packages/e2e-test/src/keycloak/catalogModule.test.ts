import { BackendProcess } from '../fixtures/BackendProcess';
import { Browser } from '../fixtures/Browser';
import type { KeycloakRealm } from '../fixtures/KeycloakRealm';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(240_000);

/**
 * The recommended production setup: the example backend as a real process
 * with Backstage's community Keycloak catalog module ingesting the realm's
 * users (no hand-written org file), and a user it ingested signing in
 * through keycloakIdMatchingUserEntityAnnotation.
 */
describe('users ingested from Keycloak by the community catalog module', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  let backend: BackendProcess;

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    realm = await keycloak.createRealm('backstage');
    backend = await BackendProcess.create(listenPort => ({
      backend: {
        baseUrl: `http://localhost:${listenPort}`,
        listen: { port: listenPort },
      },
      auth: {
        session: {
          store: 'redis',
          minAccessTokenValidity: 0,
          redis: { url: redisServer.url, prefix: 'catalog:session:' },
        },
        providers: {
          'keycloak-oidc': {
            development: {
              metadataUrl: realm.issuer,
              signIn: {
                resolvers: [
                  { resolver: 'keycloakIdMatchingUserEntityAnnotation' },
                ],
              },
            },
          },
        },
      },
      catalog: {
        // no examples/org.yaml: every user comes from Keycloak
        locations: [],
        providers: {
          keycloakOrg: {
            default: {
              baseUrl: keycloak.url,
              loginRealm: realm.name,
              realm: realm.name,
              clientId: 'backstage-catalog',
              clientSecret: 'backstage-catalog-dev-secret',
              schedule: {
                frequency: { minutes: 30 },
                timeout: { minutes: 2 },
              },
            },
          },
        },
      },
    }));
    await backend.start();
  });

  afterAll(async () => {
    await backend?.dispose();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('ingests alice with the id Keycloak assigned, and she signs in by it', async () => {
    await backend.waitForCatalogUser('alice');
    const res = await fetch(
      `${backend.url}/api/catalog/entities/by-name/user/default/alice`,
      { headers: { authorization: `Bearer ${backend.serviceToken}` } },
    );
    const entity = await res.json();
    expect(entity.metadata.annotations['keycloak.org/id']).toBe(
      await realm.userId('alice'),
    );
    expect(entity.spec.profile.email).toBe('alice@example.com');
    expect(entity.spec.memberOf).toContain('platform-team');

    const browser = new Browser();
    const authUrl = `${backend.url}/api/auth/keycloak-oidc`;
    await signIn(browser, authUrl, 'alice');
    const refreshed = await refresh(browser, authUrl);
    expect(refreshed.status).toBe(200);
    const body = await refreshed.json();
    expect(body.backstageIdentity.identity).toMatchObject({
      userEntityRef: 'user:default/alice',
      ownershipEntityRefs: expect.arrayContaining([
        'user:default/alice',
        'group:default/platform-team',
      ]),
    });
  });
});
