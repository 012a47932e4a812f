import {
  outageAnswer,
  scriptedBackend,
  sessionAnswer,
} from '../__testUtils__/backendAnswers';
import { createKeycloakOidcAuth } from '../createKeycloakOidcAuth';

/**
 * A file of its own: an API left in an outage keeps listening on the
 * window, which other tests' APIs would share in one jsdom.
 */
describe('the keycloak-oidc API during an outage, in the browser', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('retries at once when the browser is back online, and stops listening once the outage is over', async () => {
    const backend = scriptedBackend(outageAnswer('keycloak'), sessionAnswer());
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity({ optional: true });

    window.dispatchEvent(new Event('online'));
    await jest.advanceTimersByTimeAsync(0);
    expect(backend.urls).toHaveLength(2);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });

    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    await jest.advanceTimersByTimeAsync(0);
    expect(backend.urls).toHaveLength(2);
  });
});
