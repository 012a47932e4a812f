import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(60_000);

/**
 * A Keycloak that answers a refresh grant after the module's `timeout` has
 * granted it all the same: with rotation on, the refresh token the module
 * sent is spent. The browser gets its 503 at the timeout; the answer must
 * still be kept, or the next refresh reuses the spent token and Keycloak
 * ends the session (the dev IdP, like Keycloak, refuses a rotated token).
 */
describe('a refresh Keycloak answers after the timeout', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      provider: { timeout: 1000 },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const tokenDelay = (ms: number) =>
    fetch(`${idp.issuer}/dev/token-delay?ms=${ms}`, { method: 'POST' });
  const stats = async () =>
    (await (await fetch(`${idp.issuer}/dev/stats`)).json()) as {
      refreshGrants: number;
      refreshErrors: number;
    };

  it('is kept: the next refreshes use the rotated token, and the session lives on', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    const before = await stats();

    await tokenDelay(2500);
    const slow = await refresh(browser, backend.authUrl);
    expect(slow.status).toBe(503);
    expect((await slow.json()).error.message).toBe(
      'Keycloak did not answer the refresh within 1000 ms; its answer will be kept when it arrives',
    );
    await tokenDelay(0);

    // page loads that come while the grant is still in flight wait for it,
    // each at most the timeout (then 503 again, and the frontend retries),
    // and get its tokens; the one after that refreshes with the rotated token
    let next = await refresh(browser, backend.authUrl);
    for (let retries = 0; next.status === 503 && retries < 3; retries++) {
      next = await refresh(browser, backend.authUrl);
    }
    expect(next.status).toBe(200);
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    const after = await stats();
    expect(after.refreshErrors - before.refreshErrors).toBe(0); // no reuse
    expect(after.refreshGrants - before.refreshGrants).toBe(2);
    expect(backend.logger.dump()).not.toMatch(/invalid_grant/);
  });
});
