import { ResponseError } from '@backstage/errors';
import { RedisServer } from '@redis-session/test-support';
import { aroundCatalog } from '../fixtures/aroundCatalog';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, refreshCookieName, signIn } from '../fixtures/signIn';

jest.setTimeout(60_000);

/** What CatalogClient throws when the catalog cannot be reached */
function connectionRefused() {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7007'), {
      code: 'ECONNREFUSED',
    }),
  });
}

/** What CatalogClient throws when the catalog answers 503 */
async function catalogAnswered503() {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name: 'Error', message: 'database is failing over' },
        response: { statusCode: 503 },
      }),
      {
        status: 503,
        statusText: 'Service Unavailable',
        headers: { 'content-type': 'application/json' },
      },
    ) as never,
  );
}

/**
 * Found by the soak (issue 15): during a rolling restart a refresh whose
 * sign-in resolver could not reach the catalog answered 401, and the
 * frontend signed the user out although the session was fine. A resolver
 * that gets no answer is an outage (503, the session kept); one that
 * refuses the user (not in the catalog) still ends the session.
 */
describe('a refresh while the catalog cannot answer', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: KeycloakTestBackend;
  let failWith: (() => Promise<Error>) | undefined;
  let removed: string | undefined;

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      users: ['alice', 'bob'],
      wrapCatalog: catalog =>
        aroundCatalog(catalog, async call => {
          if (failWith) throw await failWith();
          const result = await call();
          // bob leaves the company: the catalog no longer has him
          if (removed && result && Array.isArray(result.items)) {
            return {
              ...result,
              items: result.items.filter(
                (e: { metadata?: { name?: string } } | undefined) =>
                  e?.metadata?.name !== removed,
              ),
            };
          }
          return result;
        }),
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await idp?.stop();
    await redisServer?.dispose();
  });

  afterEach(() => {
    failWith = undefined;
    removed = undefined;
  });

  it.each([
    ['the connection is refused', async () => connectionRefused()],
    ['the catalog answers 503', catalogAnswered503],
  ])('answers 503 and keeps the session when %s', async (_, failure) => {
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    const redis = redisServer.client();
    try {
      const sessions = (await redis.keys(sessionKeyPattern())).sort();

      failWith = failure;
      const during = await refresh(browser, backend.authUrl);
      expect(during.status).toBe(503);
      const body = await during.json();
      expect(body.error.name).toBe('ServiceUnavailableError');
      expect(body.error.message).toContain('the session is kept');
      expect(during.headers.getSetCookie().join()).not.toContain(
        `${refreshCookieName()}=;`,
      );
      expect((await redis.keys(sessionKeyPattern())).sort()).toEqual(sessions);

      failWith = undefined;
      const after = await refresh(browser, backend.authUrl);
      expect(after.status).toBe(200);
      expect(
        (await after.json()).backstageIdentity.identity.userEntityRef,
      ).toBe('user:default/alice');
      expect(
        await browser.cookieValue(
          `${backend.authUrl}/refresh`,
          refreshCookieName(),
        ),
      ).toBe(handle);
    } finally {
      redis.disconnect();
    }
  });

  it('still answers 401 when the catalog says the user is gone', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    removed = 'bob';
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(401);
  });
});
