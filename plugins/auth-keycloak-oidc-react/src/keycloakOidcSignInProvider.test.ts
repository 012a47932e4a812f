import { keycloakOidcAuthApiRef } from './keycloakOidcAuthApiRef';
import { keycloakOidcSignInProvider } from './keycloakOidcSignInProvider';

describe('keycloakOidcSignInProvider', () => {
  it("is the keycloak-oidc provider through the package's ref", () => {
    expect(keycloakOidcSignInProvider).toMatchObject({
      id: 'keycloak-oidc',
      title: 'Keycloak',
      apiRef: keycloakOidcAuthApiRef,
    });
  });
});
