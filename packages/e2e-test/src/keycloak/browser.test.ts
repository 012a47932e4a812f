import { startKeycloakUnderTest } from '../__testUtils__/IdpUnderTest';
import { describeOneBackendStories } from '../__testUtils__/oneBackendStories';
import { describeReplicaStories } from '../__testUtils__/replicaStories';

jest.setTimeout(300_000);

/**
 * The browser stories of src/browser (sign in, backend restart, Keycloak
 * restart, sign out, two replicas) in Chromium against real Keycloak's
 * login page. Needs the app build (`yarn test:e2e` makes it).
 */
describe('against real Keycloak', () => {
  describeOneBackendStories(startKeycloakUnderTest);
  describeReplicaStories(startKeycloakUnderTest);
});
