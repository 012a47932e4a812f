import { startKeycloakUnderTest } from '../fixtures/IdpUnderTest';
import { describeOneBackendStories } from '../fixtures/oneBackendStories';
import { describeReplicaStories } from '../fixtures/replicaStories';

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
