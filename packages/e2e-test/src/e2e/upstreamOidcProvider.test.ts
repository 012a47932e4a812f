import { BackendProcess } from '../fixtures/BackendProcess';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { RedisServer } from '@redis-session/test-support';
import { refresh, refreshCookieName, signIn } from '../fixtures/signIn';

jest.setTimeout(240_000);

/**
 * Backstage's own `oidc` provider module
 * (@backstage/plugin-auth-backend-module-oidc-provider) next to ours in one
 * example backend process, against the same dev IdP: the setup the benchmark
 * compares. The upstream module keeps Keycloak's refresh token in its
 * `oidc-refresh-token` cookie and its PKCE verifier in an express-session
 * (`auth.session.secret`); ours keeps a handle in the cookie and the tokens
 * in Redis.
 */
describe('upstream oidc provider next to keycloak-oidc in one backend', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: BackendProcess;

  beforeAll(async () => {
    // default dev IdP: PKCE S256 required, refresh tokens rotated
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
    backend = await BackendProcess.create(listenPort => ({
      backend: {
        baseUrl: `http://localhost:${listenPort}`,
        listen: { port: listenPort },
      },
      auth: {
        session: {
          // express-session for the upstream module (its PKCE verifier and
          // state live there between /start and the callback)
          secret: 'e2e-express-session-secret',
          minAccessTokenValidity: 0,
          store: 'redis',
          redis: { url: redisServer.url, prefix: 'e2e-upstream:session:' },
        },
        providers: {
          'keycloak-oidc': {
            development: { metadataUrl: idp.issuer },
          },
          oidc: {
            development: {
              metadataUrl: idp.issuer,
              clientId: 'backstage',
              clientSecret: 'backstage-dev-secret',
              // upstream's default is prompt=none, which fails without an
              // IdP session; `auto` sends no prompt
              prompt: 'auto',
              signIn: {
                resolvers: [
                  { resolver: 'emailMatchingUserEntityProfileEmail' },
                ],
              },
            },
          },
        },
      },
    }));
    await backend.start();
    await backend.waitForCatalogUser('alice');
  });

  afterAll(async () => {
    await backend?.dispose();
    await redisServer?.dispose();
    await idp?.stop();
  });

  async function expectAliceRefresh(browser: Browser, authUrl: string) {
    const res = await refresh(browser, authUrl);
    const body = await res.text();
    expect({ status: res.status, body }).toMatchObject({ status: 200 });
    expect(JSON.parse(body).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
  }

  it('signs in and refreshes twice through each provider', async () => {
    const upstreamUrl = `${backend.url}/api/auth/oidc`;
    const oursUrl = `${backend.url}/api/auth/keycloak-oidc`;
    const upstream = new Browser();
    const ours = new Browser();

    const upstreamCookies = [
      await signIn(upstream, upstreamUrl, 'alice', { providerId: 'oidc' }),
    ];
    const ourHandle = await signIn(ours, oursUrl, 'alice');

    for (let i = 0; i < 2; i++) {
      await expectAliceRefresh(upstream, upstreamUrl);
      await expectAliceRefresh(ours, oursUrl);
      upstreamCookies.push(
        (await upstream.cookieValue(
          `${upstreamUrl}/refresh`,
          refreshCookieName('oidc'),
        ))!,
      );
    }

    // the upstream cookie is Keycloak's refresh token: rotated by the IdP on
    // every refresh, and the module sets the new one each time
    expect(new Set(upstreamCookies).size).toBe(3);
    // ours is a session handle that stays put
    expect(
      await ours.cookieValue(`${oursUrl}/refresh`, refreshCookieName()),
    ).toBe(ourHandle);
    // each browser holds only its own provider's refresh cookie
    expect(
      await upstream.cookieValue(`${oursUrl}/refresh`, refreshCookieName()),
    ).toBeUndefined();
    expect(
      await ours.cookieValue(
        `${upstreamUrl}/refresh`,
        refreshCookieName('oidc'),
      ),
    ).toBeUndefined();

    const stats = await idp.stats();
    expect(stats.codeGrants).toBe(2);
    // minAccessTokenValidity 0: ours calls Keycloak on every refresh too
    expect(stats.refreshGrants).toBe(4);
    expect(stats.refreshErrors).toBe(0);
  });
});
