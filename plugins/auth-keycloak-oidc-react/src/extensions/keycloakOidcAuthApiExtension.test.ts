import { ApiBlueprint } from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import {
  expectKeycloakOidcRefresh,
  recordingAuthDeps,
} from '../__testUtils__/refreshRequests';
import { keycloakOidcAuthApiRef } from '../keycloakOidcAuthApiRef';
import { keycloakOidcAuthApiExtension } from './keycloakOidcAuthApiExtension';

describe('keycloakOidcAuthApiExtension', () => {
  afterEach(() => jest.restoreAllMocks());

  it('provides an OAuth2 for the keycloak-oidc provider under the ref', async () => {
    const factory = createExtensionTester(keycloakOidcAuthApiExtension).get(
      ApiBlueprint.dataRefs.factory,
    );
    expect(factory.api).toBe(keycloakOidcAuthApiRef);

    const { deps, urls } = recordingAuthDeps();
    const api = factory.factory(deps) as typeof keycloakOidcAuthApiRef.T;
    await api.getBackstageIdentity({ optional: true });

    expectKeycloakOidcRefresh(urls);
  });
});
