import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { RedisServer } from '@redis-session/test-support';
import { startKeycloakTestBackend } from '../fixtures/KeycloakTestBackend';
import {
  APP_REDIRECT,
  completeCallback,
  loginUntilCallback,
  refresh,
} from '../fixtures/signIn';
import type { DevUserName } from '../fixtures/users';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';

jest.setTimeout(60_000);

/**
 * Each resolver against the real auth plugin: alice is in the catalog,
 * carol is not (and only gets in with the dangerous fallback).
 */
describe.each([
  'keycloakIdMatchingUserEntityAnnotation',
  'preferredUsernameMatchingUserEntityName',
  'emailMatchingUserEntityProfileEmail',
  'emailLocalPartMatchingUserEntityName',
])('sign-in resolver %s', resolver => {
  let idp: DevIdp;
  let redisServer: RedisServer;

  beforeAll(async () => {
    idp = await DevIdp.start();
    redisServer = await RedisServer.start();
  });

  afterAll(async () => {
    await idp?.stop();
    await redisServer?.dispose();
  });

  async function login(
    user: DevUserName,
    dangerouslyAllowSignInWithoutUserInCatalog?: boolean,
  ) {
    const backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      users: ['alice', 'bob'],
      resolver: {
        resolver,
        ...(dangerouslyAllowSignInWithoutUserInCatalog && {
          dangerouslyAllowSignInWithoutUserInCatalog,
        }),
      },
    });
    const redis = redisServer.client();
    try {
      await redis.flushall();
      const browser = new Browser();
      const callbackUrl = await loginUntilCallback(
        browser,
        backend.authUrl,
        user,
      );
      const callback = await completeCallback(
        browser,
        callbackUrl,
        backend.authUrl,
      );
      const location = callback.headers.get('location') ?? '';
      const res = await refresh(browser, backend.authUrl);
      return {
        location,
        status: res.status,
        sessions: (await redis.keys(sessionKeyPattern())).length,
        entityRef: res.ok
          ? (await res.json()).backstageIdentity.identity.userEntityRef
          : undefined,
      };
    } finally {
      redis.disconnect();
      await backend.stop();
    }
  }

  it('signs in a catalog user as that entity', async () => {
    expect(await login('alice')).toEqual({
      location: APP_REDIRECT,
      status: 200,
      sessions: 1,
      entityRef: 'user:default/alice',
    });
  });

  it('refuses a user missing from the catalog', async () => {
    const result = await login('carol');
    // plugin-auth-node 0.7.8 sends a failed redirect-flow sign-in to the
    // app's base URL with ?error= (0.7.6 and earlier: to the redirectUrl)
    expect(result.location).toMatch(/^http:\/\/localhost:3000\/\?error=/);
    expect(result.status).toBe(401);
    // the login's token set is not left behind in Redis
    expect(result.sessions).toBe(0);
  });

  it('lets a user missing from the catalog in with dangerouslyAllowSignInWithoutUserInCatalog', async () => {
    const result = await login('carol', true);
    expect(result.location).toBe(APP_REDIRECT);
    expect(result.status).toBe(200);
    expect(result.sessions).toBe(1);
    expect(result.entityRef).toMatch(/^user:default\/carol/);
  });
});
