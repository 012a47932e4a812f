import type { Redis } from 'ioredis';
import {
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import { freePort, RedisServer } from '@redis-session/test-support';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RoundRobinProxy } from '../fixtures/RoundRobinProxy';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, signIn } from '../fixtures/signIn';
import { devUsers } from '../fixtures/users';

jest.setTimeout(90_000);

const PATH = '/api/auth/keycloak-oidc/backchannel-logout';
// the `events` member of a logout token (OIDC Back-Channel Logout 1.0, 2.4)
const BACKCHANNEL_LOGOUT_EVENT =
  'http://schemas.openid.net/event/backchannel-logout';

/**
 * OIDC Back-Channel Logout through a real backend: the dev IdP signs users
 * out the way Keycloak's admin console does and delivers its own logout
 * tokens; forged tokens are signed with the IdP's real key where the point
 * is a claim check, so only that check can refuse them.
 */
describe('back-channel logout', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;
  let gateway: RoundRobinProxy;
  let idpKey: { key: CryptoKey | Uint8Array; kid: string };

  beforeAll(async () => {
    // The IdP needs the logout URL before the backend (which needs the
    // IdP's issuer) exists: it posts to a port that forwards to it.
    const gatewayPort = await freePort();
    [idp, redisServer] = await Promise.all([
      DevIdp.start([
        '--backchannel-logout-uri',
        `http://localhost:${gatewayPort}${PATH}`,
      ]),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice', 'bob', 'carol'],
      redisUrl: redisServer.url,
    });
    gateway = await RoundRobinProxy.listen(gatewayPort, [backend.url]);
    const jwks = JSON.parse(
      readFileSync(join(tmpdir(), `kc-dev-idp-test-${idp.port}.json`), 'utf8'),
    ) as { keys: JWK[] };
    idpKey = {
      key: (await importJWK(jwks.keys[0], 'RS256')) as CryptoKey,
      kid: jwks.keys[0].kid!,
    };
  });

  afterAll(async () => {
    await gateway?.close();
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const sessionCount = async () =>
    (await redis.keys(sessionKeyPattern())).length;

  const post = (
    body: string,
    contentType = 'application/x-www-form-urlencoded',
  ) =>
    fetch(`${backend.url}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });

  const postToken = (token: string) =>
    post(new URLSearchParams({ logout_token: token }).toString());

  function claims(overrides: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: idp.issuer,
      aud: 'backstage',
      iat: now,
      exp: now + 120,
      jti: randomUUID(),
      sub: devUsers.bob.sub,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      ...overrides,
    };
  }

  function signed(
    payload: JWTPayload,
    key: { key: CryptoKey | Uint8Array; kid: string } = idpKey,
    alg = 'RS256',
  ) {
    return new SignJWT(payload)
      .setProtectedHeader({ alg, kid: key.kid, typ: 'logout+jwt' })
      .sign(key.key);
  }

  it('a validly signed sub with a newline cannot forge a log line', async () => {
    const before = backend.logger.lines.length;
    const res = await postToken(
      await signed(
        claims({
          sub: 'bob\n{"level":"info","message":"forged line"}',
          sid: 'kc-sid\r\nforged',
        }),
      ),
    );
    expect(res.status).toBe(200);
    const messages = backend.logger.lines.slice(before).map(l => l.message);
    expect(messages).toEqual([
      expect.stringMatching(
        /^Back-channel logout: deleted 0 session\(s\) of sub=bob\\u000a/,
      ),
    ]);
    for (const message of messages) {
      expect(message).not.toMatch(/[\r\n]/);
    }
  });

  it("signing a user out at the IdP ends exactly that user's Backstage sessions", async () => {
    const [alice1, alice2, bob] = [new Browser(), new Browser(), new Browser()];
    await signIn(alice1, backend.authUrl, 'alice');
    await signIn(alice2, backend.authUrl, 'alice');
    await signIn(bob, backend.authUrl, 'bob');
    const before = await sessionCount();

    const outcome = await idp.signOutUser('alice');
    expect(outcome).toMatchObject({ sessions: 2, delivered: 2, failed: 0 });
    expect(gateway.hits).toHaveLength(2);
    expect(await sessionCount()).toBe(before - 2);

    for (const browser of [alice1, alice2]) {
      const res = await refresh(browser, backend.authUrl);
      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toBe(
        'Session not found or expired; sign in again',
      );
      expect(res.headers.getSetCookie().join()).toMatch(
        /keycloak-oidc-refresh-token=;/,
      );
    }
    expect((await refresh(bob, backend.authUrl)).status).toBe(200);
    const accepted = backend.logger.lines.filter(l =>
      /back-channel logout/i.test(l.message),
    );
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    expect(backend.logger.dump()).toContain(devUsers.alice.sub);
  });

  it('answers 200 with no-store to a valid token and refuses its replay', async () => {
    const carol = new Browser();
    await signIn(carol, backend.authUrl, 'carol');
    const token = await signed(claims({ sub: devUsers.carol.sub }));
    const first = await postToken(token);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect((await refresh(carol, backend.authUrl)).status).toBe(401);

    const replay = await postToken(token);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual({
      error: 'invalid_request',
      error_description: expect.stringContaining('jti'),
    });
  });

  describe('bad logout tokens get 400 and delete nothing', () => {
    let bob: Browser;
    let count: number;

    beforeAll(async () => {
      bob = new Browser();
      await signIn(bob, backend.authUrl, 'bob');
    });

    beforeEach(async () => {
      count = await sessionCount();
    });

    /** Nothing was deleted and bob is still signed in. */
    async function expectNothingDeleted() {
      expect(await sessionCount()).toBe(count);
      expect((await refresh(bob, backend.authUrl)).status).toBe(200);
    }

    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<string>, RegExp][] = [
      [
        'wrong signature',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return signed(claims(), { key: privateKey, kid: idpKey.kid });
        },
        /signature/i,
      ],
      [
        'alg none',
        async () => new UnsecuredJWT(claims()).encode(),
        /alg|algorithm/i,
      ],
      [
        'HS256 with a guessable secret',
        async () =>
          signed(
            claims(),
            { key: new TextEncoder().encode('backstage-dev-secret'), kid: 'x' },
            'HS256',
          ),
        /alg|algorithm/i,
      ],
      [
        'wrong iss',
        () => signed(claims({ iss: 'https://evil.example/realms/x' })),
        /iss/,
      ],
      ['wrong aud', () => signed(claims({ aud: 'another-client' })), /aud/],
      [
        'expired',
        () => signed(claims({ iat: now() - 600, exp: now() - 300 })),
        /exp/,
      ],
      ['missing events', () => signed(claims({ events: undefined })), /events/],
      [
        'the wrong event',
        () =>
          signed(
            claims({ events: { 'http://schemas.openid.net/event/other': {} } }),
          ),
        /events/,
      ],
      ['a nonce', () => signed(claims({ nonce: 'n-0S6_WzA2Mj' })), /nonce/],
      [
        'neither sid nor sub',
        () => signed(claims({ sub: undefined, sid: undefined })),
        /sid|sub/,
      ],
      ['not a JWT', async () => 'definitely-not-a-jwt', /JWT|token/i],
    ];

    it.each(cases)('%s', async (_, token, reason) => {
      const res = await postToken(await token());
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = await res.json();
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(reason);
      await expectNothingDeleted();
    });

    it('a huge body', async () => {
      const res = await post(`logout_token=${'a'.repeat(1024 * 1024)}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe('invalid_request');
      await expectNothingDeleted();
    });

    it('no logout_token', async () => {
      const res = await post('something=else');
      expect(res.status).toBe(400);
      expect((await res.json()).error_description).toMatch(/logout_token/);
      await expectNothingDeleted();
    });
  });
});
