import { SessionState } from '@backstage/frontend-plugin-api';
import {
  laterAnswer,
  outageAnswer,
  pastRefreshPoint,
  scriptedBackend,
  sessionAnswer,
  signedOutAnswer,
} from '../__testUtils__/backendAnswers';
import { createKeycloakOidcAuth } from '../createKeycloakOidcAuth';

/**
 * The keycloak-oidc API as the app uses it: Backstage's OAuth2 session
 * manager on our connector, against a scripted backend.
 */
describe('the keycloak-oidc API during an outage', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-06T12:00Z') }));
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  function sessionStates(api: ReturnType<typeof createKeycloakOidcAuth>) {
    const states: SessionState[] = [];
    api.sessionState$().subscribe(s => states.push(s));
    return states;
  }

  it('keeps a signed-in session through a 503 naming Keycloak: the Backstage token it has, no "Login Required"', async () => {
    const backend = scriptedBackend(sessionAnswer(), outageAnswer('keycloak'));
    const api = createKeycloakOidcAuth(backend.deps);
    const states = sessionStates(api);
    expect((await api.getBackstageIdentity())?.token).toBe('backstage-token-1');
    pastRefreshPoint();

    const during = await api.getBackstageIdentity();

    expect(during?.token).toBe('backstage-token-1');
    expect(backend.loginRequired).not.toHaveBeenCalled();
    expect(states.at(-1)).toBe(SessionState.SignedIn);
    expect(api.getSessionAvailability()).toMatchObject({
      status: 'unavailable',
      dependency: 'keycloak',
    });
    expect(backend.urls).toHaveLength(2);
  });

  it("answers the app's refreshes from the session it has while retrying with backoff; the retry that succeeds ends the outage", async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const backend = scriptedBackend(
      sessionAnswer(),
      outageAnswer('session-store'),
    );
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity();
    pastRefreshPoint();
    await api.getBackstageIdentity();
    const outage = api.getSessionAvailability();
    expect(outage).toMatchObject({ dependency: 'session-store' });

    // the app's own refreshes stay off the backend meanwhile
    for (let i = 0; i < 5; i++) {
      expect((await api.getBackstageIdentity())?.token).toBe(
        'backstage-token-1',
      );
    }
    expect(backend.urls).toHaveLength(2);

    // first retry 2 s later (±20%, here the middle): still down, and the
    // next one waits twice as long
    backend.answer(outageAnswer('session-store'));
    await jest.advanceTimersByTimeAsync(2_000);
    expect(backend.urls).toHaveLength(3);
    const second = api.getSessionAvailability();
    expect(second).toMatchObject({ status: 'unavailable' });
    if (second.status !== 'unavailable' || outage.status !== 'unavailable') {
      throw new Error('expected an outage');
    }
    expect(second.since).toEqual(outage.since);
    const wait = second.nextRetryAt.getTime() - Date.now();
    expect(wait).toBe(4_000);

    backend.answer(sessionAnswer({ token: 'backstage-token-2' }));
    await jest.advanceTimersByTimeAsync(wait);
    expect(backend.urls).toHaveLength(4);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });

    // the app's next refresh gets the session the retry fetched...
    expect((await api.getBackstageIdentity())?.token).toBe('backstage-token-2');
    expect(backend.urls).toHaveLength(4);
    // ...and the one after it asks the backend again
    pastRefreshPoint();
    backend.answer(sessionAnswer({ token: 'backstage-token-3' }));
    expect((await api.getBackstageIdentity())?.token).toBe('backstage-token-3');
    expect(backend.urls).toHaveLength(5);
    expect(backend.loginRequired).not.toHaveBeenCalled();
  });

  it('on load during an outage: no session for the sign-in page, a connection error (not "Login Required") for the app', async () => {
    const backend = scriptedBackend(outageAnswer('keycloak'));
    const api = createKeycloakOidcAuth(backend.deps);

    await expect(
      api.getBackstageIdentity({ optional: true }),
    ).resolves.toBeUndefined();
    expect(api.getSessionAvailability()).toMatchObject({
      dependency: 'keycloak',
    });
    await expect(api.getBackstageIdentity()).rejects.toMatchObject({
      name: 'AuthConnectionError',
      dependency: 'keycloak',
    });
    expect(backend.loginRequired).not.toHaveBeenCalled();
    expect(backend.urls).toHaveLength(1);
  });

  const outages = {
    'no answer': () => 'no answer' as const,
    "a gateway's 502": () => new Response('Bad Gateway', { status: 502 }),
    'a 503 naming nothing': () => outageAnswer(),
    'a 503 naming keycloak': () => outageAnswer('keycloak'),
    'a 503 naming the session store': () => outageAnswer('session-store'),
  };

  it.each([
    ['no answer', 'backstage'],
    ["a gateway's 502", 'backstage'],
    ['a 503 naming nothing', 'unknown'],
    ['a 503 naming keycloak', 'keycloak'],
    ['a 503 naming the session store', 'session-store'],
  ] as const)('%s is an outage of %s', async (answer, dependency) => {
    const backend = scriptedBackend(sessionAnswer(), outages[answer]());
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity();
    pastRefreshPoint();

    expect((await api.getBackstageIdentity())?.token).toBe('backstage-token-1');
    expect(api.getSessionAvailability()).toMatchObject({ dependency });
  });
  it('once the Backstage token it has is about to expire, fails as a connection error and still keeps the session', async () => {
    const backend = scriptedBackend(
      sessionAnswer({ backstageExpiresIn: 200 }),
      outageAnswer('keycloak'),
    );
    const api = createKeycloakOidcAuth(backend.deps);
    const states = sessionStates(api);
    await api.getBackstageIdentity();
    jest.setSystemTime(Date.now() + 25_000);
    expect(await api.getBackstageIdentity()).toBeDefined();
    expect(backend.urls).toHaveLength(2);

    jest.setSystemTime(Date.now() + 171_000);
    await expect(api.getBackstageIdentity()).rejects.toMatchObject({
      name: 'AuthConnectionError',
    });
    expect(backend.loginRequired).not.toHaveBeenCalled();
    expect(states.at(-1)).toBe(SessionState.SignedIn);
  });

  it('a 401 still signs the user out, as before: the session ended', async () => {
    const backend = scriptedBackend(sessionAnswer(), signedOutAnswer());
    const api = createKeycloakOidcAuth(backend.deps);
    const states = sessionStates(api);
    await api.getBackstageIdentity();
    pastRefreshPoint();

    await expect(
      api.getBackstageIdentity({ optional: true }),
    ).resolves.toBeUndefined();
    expect(states.at(-1)).toBe(SessionState.SignedOut);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });
  });

  it('"Try now" asks the backend at once', async () => {
    const backend = scriptedBackend(outageAnswer('keycloak'));
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity({ optional: true });

    backend.answer(sessionAnswer());
    api.retrySessionNow();
    await jest.advanceTimersByTimeAsync(0);

    expect(backend.urls).toHaveLength(2);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });
  });

  it('asked for a scope the session lacks during an outage: a connection error, not "Login Required"', async () => {
    const backend = scriptedBackend(sessionAnswer(), outageAnswer('keycloak'));
    const api = createKeycloakOidcAuth(backend.deps);
    const states = sessionStates(api);
    await api.getBackstageIdentity();
    pastRefreshPoint();
    await api.getBackstageIdentity();

    await expect(api.getAccessToken('offline_access')).rejects.toMatchObject({
      name: 'AuthConnectionError',
    });
    expect(backend.loginRequired).not.toHaveBeenCalled();
    expect(states.at(-1)).toBe(SessionState.SignedIn);
  });

  it('a sign-out during an outage forgets the session even though the backend could not be told, and stops retrying', async () => {
    const backend = scriptedBackend(
      sessionAnswer(),
      outageAnswer('session-store'),
      outageAnswer('session-store'), // the /logout
    );
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity();
    pastRefreshPoint();
    await api.getBackstageIdentity();

    await expect(api.signOut()).rejects.toThrow(
      'Logout request failed, Service Unavailable',
    );
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(backend.urls).toHaveLength(3);

    // nothing to serve any more: the next refresh asks the backend
    backend.answer(signedOutAnswer());
    await expect(
      api.getBackstageIdentity({ optional: true }),
    ).resolves.toBeUndefined();
    expect(backend.urls).toHaveLength(4);
  });

  it('drops the answer of a retry that was on its way when the user signed out', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const late = laterAnswer();
    const backend = scriptedBackend(sessionAnswer(), outageAnswer('keycloak'));
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity();
    pastRefreshPoint();
    await api.getBackstageIdentity();

    backend.answer(late.promise, Response.json({}));
    await jest.advanceTimersByTimeAsync(2_000); // the retry is asking
    await api.signOut();
    late.resolve(sessionAnswer({ token: 'backstage-token-2' }));
    await jest.advanceTimersByTimeAsync(0);

    expect(api.getSessionAvailability()).toEqual({ status: 'available' });
    // an outage now has no session to serve: the late one was dropped
    backend.answer(outageAnswer('keycloak'));
    await expect(
      api.getBackstageIdentity({ optional: true }),
    ).resolves.toBeUndefined();
  });

  it('"Try now" while a retry is on its way asks nothing more', async () => {
    const late = laterAnswer();
    const backend = scriptedBackend(outageAnswer('keycloak'), late.promise);
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity({ optional: true });

    api.retrySessionNow();
    api.retrySessionNow();
    api.retrySessionNow();
    await jest.advanceTimersByTimeAsync(0);
    expect(backend.urls).toHaveLength(2);

    late.resolve(sessionAnswer());
    await jest.advanceTimersByTimeAsync(0);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });
  });

  it("the session a successful retry fetched answers the sign-in page's next refresh, without a second request", async () => {
    const backend = scriptedBackend(outageAnswer('keycloak'), sessionAnswer());
    const api = createKeycloakOidcAuth(backend.deps);
    await api.getBackstageIdentity({ optional: true });

    api.retrySessionNow();
    await jest.advanceTimersByTimeAsync(0);
    expect(api.getSessionAvailability()).toEqual({ status: 'available' });

    expect((await api.getBackstageIdentity({ optional: true }))?.token).toBe(
      'backstage-token-1',
    );
    expect(backend.urls).toHaveLength(2);
  });
});
