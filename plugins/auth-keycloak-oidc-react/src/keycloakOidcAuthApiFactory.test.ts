import {
  expectKeycloakOidcRefresh,
  recordingAuthDeps,
} from './__testUtils__/refreshRequests';
import { keycloakOidcAuthApiFactory } from './keycloakOidcAuthApiFactory';
import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';

describe('keycloakOidcAuthApiFactory', () => {
  afterEach(() => jest.restoreAllMocks());

  it('provides the keycloak-oidc ref', () => {
    expect(keycloakOidcAuthApiFactory.api).toBe(keycloakOidcAuthApiRef);
    expect(keycloakOidcAuthApiRef.id).toBe('auth.keycloak-oidc');
  });

  it("creates an OAuth2 that talks to the keycloak-oidc provider in auth.environment, with Keycloak's default scopes", async () => {
    const { deps, urls } = recordingAuthDeps();
    const api = keycloakOidcAuthApiFactory.factory(deps);

    await expect(
      api.getBackstageIdentity({ optional: true }),
    ).resolves.toBeUndefined();

    expectKeycloakOidcRefresh(urls);
  });
});
