import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(60_000);

const decodeJwt = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/**
 * A realm whose email and profile mappers have "Add to ID token" off (the
 * dev IdP's --claims-at-userinfo-only): the module reads userinfo once at
 * login and keeps the claims with the session.
 */
describe('profile claims only at userinfo', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(['--claims-at-userinfo-only']),
      RedisServer.start(),
    ]);
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      redisUrl: redisServer.url,
      resolver: { resolver: 'emailMatchingUserEntityProfileEmail' },
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await redisServer?.dispose();
    await idp?.stop();
  });

  it('signs in by email, and refreshes keep the profile without calling userinfo again', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    expect(await idp.stats()).toMatchObject({
      codeGrants: 1,
      userinfoRequests: 1,
    });

    for (let i = 0; i < 2; i++) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(200);
      const body = await res.json();
      // the IdP really kept the claims out of the ID token
      expect(decodeJwt(body.providerInfo.idToken).email).toBeUndefined();
      expect(body.backstageIdentity.identity.userEntityRef).toBe(
        'user:default/alice',
      );
      expect(body.profile).toMatchObject({
        email: 'alice@example.com',
        displayName: 'Alice Adams',
      });
    }
    expect(await idp.stats()).toMatchObject({
      refreshGrants: 2,
      userinfoRequests: 1,
    });
    expect(backend.logger.lines.filter(l => l.level === 'error')).toEqual([]);
  });
});
