import type { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import type { KeycloakRealm } from '../fixtures/KeycloakRealm';
import { KeycloakServer } from '../fixtures/KeycloakServer';
import { openSealedRecord, readChunked } from '../fixtures/openSealedRecord';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackendOptions,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { keycloakUserEntities } from '../fixtures/keycloakUserEntities';
import {
  keycloakRefreshGrant,
  sessionKeys,
  storedRefreshToken,
} from '../fixtures/keycloakSuite';
import { RedisServer } from '@redis-session/test-support';
import { logout, refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(180_000);

const decodeJwt = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/** Login, resolvers, userinfo-only claims and sign-out against real Keycloak. */
describe('sign-in through real Keycloak', () => {
  let keycloak: KeycloakServer;
  let realm: KeycloakRealm;
  let redisServer: RedisServer;
  let redis: Redis;
  const backends: KeycloakTestBackend[] = [];
  let prefixes = 0;

  async function backendFor(
    target: KeycloakRealm,
    options: Partial<KeycloakTestBackendOptions> = {},
  ) {
    const prefix = `kc${++prefixes}:session:`;
    const backend = await startKeycloakTestBackend({
      issuer: target.issuer,
      entities: await keycloakUserEntities(target, ['alice', 'bob', 'carol']),
      session: {
        store: 'redis',
        redis: { url: redisServer.url, prefix },
      },
      ...options,
    });
    backends.push(backend);
    return { ...backend, prefix };
  }

  beforeAll(async () => {
    [keycloak, redisServer] = await Promise.all([
      KeycloakServer.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    realm = await keycloak.createRealm('backstage');
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    redis?.disconnect();
    await redisServer?.dispose();
    await keycloak?.dispose();
  });

  it('logs in through the login form and refreshes to a Backstage identity', async () => {
    const backend = await backendFor(realm);
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'alice');
    expect(handle).toMatch(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);

    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.backstageIdentity.identity.userEntityRef).toBe(
      'user:default/alice',
    );
    expect(body.profile).toMatchObject({
      email: 'alice@example.com',
      displayName: 'Alice Adams',
    });
    const idToken = decodeJwt(body.providerInfo.idToken);
    expect(idToken.iss).toBe(realm.issuer);
    expect(idToken.sub).toBe(await realm.userId('alice'));

    // one session in Redis, holding Keycloak's own session id; one session
    // at Keycloak
    const keys = await sessionKeys(redis, backend.prefix);
    expect(keys).toHaveLength(1);
    const [kcSession] = await realm.sessionsOf('alice');
    expect(Object.values(kcSession.clients ?? {})).toEqual(['backstage']);
    const sealed = await readChunked(redis, keys[0]);
    expect(openSealedRecord(sealed, keys[0], handle).sid).toBe(kcSession.id);
  });

  it.each([
    'keycloakIdMatchingUserEntityAnnotation',
    'emailMatchingUserEntityProfileEmail',
    'emailLocalPartMatchingUserEntityName',
    'preferredUsernameMatchingUserEntityName',
  ])('signs in with the %s resolver', async resolver => {
    const backend = await backendFor(realm, { resolver: { resolver } });
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    expect((await res.json()).backstageIdentity.identity.userEntityRef).toBe(
      'user:default/bob',
    );
  });

  it('signs in when email and profile claims come only from userinfo', async () => {
    const userinfoRealm = await keycloak.createRealm('userinfo-only');
    await userinfoRealm.claimsOnlyAtUserinfo();
    const backend = await backendFor(userinfoRealm, {
      resolver: { resolver: 'emailMatchingUserEntityProfileEmail' },
    });
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'carol');
    for (let i = 0; i < 2; i++) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(200);
      const body = await res.json();
      // Keycloak really kept them out of the ID token
      const idToken = decodeJwt(body.providerInfo.idToken);
      expect(idToken.email).toBeUndefined();
      expect(idToken.name).toBeUndefined();
      expect(body.backstageIdentity.identity.userEntityRef).toBe(
        'user:default/carol',
      );
      expect(body.profile).toMatchObject({
        email: 'carol@example.com',
        displayName: 'Carol Chen',
      });
    }
    // userinfo once, at login; the refreshes needed no extra call
    const events = await userinfoRealm.events(['USER_INFO_REQUEST']);
    expect(events).toHaveLength(1);
    expect(
      (await userinfoRealm.events(['REFRESH_TOKEN'])).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('signs out at Keycloak: no Keycloak session is left and the refresh token is revoked', async () => {
    const backend = await backendFor(realm);
    const browser = new Browser();
    const handle = await signIn(browser, backend.authUrl, 'carol');
    const [key] = await sessionKeys(redis, backend.prefix);
    const refreshToken = await storedRefreshToken(redis, key, handle);
    expect(await realm.sessionsOf('carol')).toHaveLength(1);

    const res = await logout(browser, backend.authUrl);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect(await redis.exists(key)).toBe(0);
    const { logoutUrl } = await res.json();
    const url = new URL(logoutUrl);
    expect(url.origin + url.pathname).toBe(
      `${realm.issuer}/protocol/openid-connect/logout`,
    );

    // Keycloak checks id_token_hint and post_logout_redirect_uri, ends the
    // SSO session and sends the browser back to the app
    const back = await browser.follow(logoutUrl, {
      stopAt: next => next.origin === 'http://localhost:3000',
    });
    expect(back.url).toBe('http://localhost:3000/');
    expect(await realm.sessionsOf('carol')).toEqual([]);
    const grant = await keycloakRefreshGrant(realm, refreshToken);
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('invalid_grant');
  });
});
