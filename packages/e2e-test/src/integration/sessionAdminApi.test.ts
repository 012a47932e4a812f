import type { Redis } from 'ioredis';
import { Browser } from '../fixtures/Browser';
import { DevIdp } from '../fixtures/DevIdp';
import {
  startKeycloakTestBackend,
  type KeycloakTestBackend,
} from '../fixtures/KeycloakTestBackend';
import { RedisServer } from '@redis-session/test-support';
import { sessionKeyPattern } from '../fixtures/sessionKeyPattern';
import { refresh, signIn } from '../fixtures/signIn';

jest.setTimeout(90_000);

const OPS_TOKEN = 'ops-cli-static-token-0123456789abcdef';
const BOB_SUB = '6c1e6d63-4b3f-4a5d-8d2f-0b0b00000002';

describe('per-user sessions and the session admin API', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;
  let admin: string;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      users: ['alice', 'bob', 'carol'],
      realAuth: true,
      session: {
        store: 'redis',
        maxSessionsPerUser: 2,
        admin: { allow: ['user:default/alice', 'ops-cli'] },
        redis: { url: redisServer.url, prefix: 'test:session:' },
      },
      backendConfig: {
        auth: {
          externalAccess: [
            {
              type: 'static',
              options: { token: OPS_TOKEN, subject: 'ops-cli' },
            },
          ],
        },
      },
    });
    admin = `${backend.authUrl}/admin/sessions`;
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  /** Signs in on a fresh browser; returns it and its Backstage token. */
  async function signedIn(user: 'alice' | 'bob' | 'carol') {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, user);
    const res = await refresh(browser, backend.authUrl);
    expect(res.status).toBe(200);
    const body = await res.json();
    return { browser, token: body.backstageIdentity.token as string };
  }

  const call = (
    path: string,
    token: string | undefined,
    init: RequestInit = {},
  ) =>
    fetch(`${admin}${path}`, {
      ...init,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });

  it('maxSessionsPerUser: 2 evicts the oldest session on a third login', async () => {
    const first = await signedIn('bob');
    const second = await signedIn('bob');
    const third = await signedIn('bob');
    const oldest = await refresh(first.browser, backend.authUrl);
    expect(oldest.status).toBe(401);
    expect(oldest.headers.getSetCookie().join()).toMatch(
      /keycloak-oidc-refresh-token=;/,
    );
    expect((await refresh(second.browser, backend.authUrl)).status).toBe(200);
    expect((await refresh(third.browser, backend.authUrl)).status).toBe(200);
    expect(backend.logger.dump()).toContain(
      'Signed out 1 older session(s) of keycloak user',
    );
  });

  it('answers 401 without credentials and 403 to an ordinary signed-in user', async () => {
    const noCredentials = await call('/count', undefined);
    expect(noCredentials.status).toBe(401);
    const carol = await signedIn('carol');
    for (const [path, init] of [
      ['/count', {}],
      ['?user=user:default/bob', {}],
      ['?user=user:default/bob', { method: 'DELETE' }],
    ] as const) {
      const res = await call(path, carol.token, init);
      expect(res.status).toBe(403);
      const body = await res.json();
      expect(body.error.name).toBe('NotAllowedError');
      expect(body.error.message).toContain('auth.session.admin.allow');
    }
    // nothing was revoked by the refused calls
    expect((await call('/count', OPS_TOKEN)).status).toBe(200);
    expect(
      (await (await call(`?sub=${BOB_SUB}`, OPS_TOKEN)).json()).sessions,
    ).toHaveLength(2);
  });

  it('lists, counts, extends and revokes sessions as documented', async () => {
    const alice = await signedIn('alice');
    const keysBefore = (await redis.keys(sessionKeyPattern())).length;

    const count = await call('/count', alice.token);
    expect(count.status).toBe(200);
    expect(await count.json()).toEqual({ count: keysBefore });

    const listed = await call('?user=user:default/bob', alice.token);
    expect(listed.status).toBe(200);
    const { sessions } = await listed.json();
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(s).toEqual({
        id: expect.stringMatching(/^[\w-]{16}\.[\w-]{43}$/),
        sub: BOB_SUB,
        entityRef: 'user:default/bob',
        createdAt: expect.any(Number),
        refreshedAt: expect.any(Number),
        expiresAt: expect.any(Number),
        userAgent: expect.any(String),
      });
    }
    expect(sessions[0].createdAt).toBeLessThanOrEqual(sessions[1].createdAt);
    // by Keycloak sub too; and never a token
    const bySub = await (await call(`?sub=${BOB_SUB}`, alice.token)).json();
    expect(bySub.sessions.map((s: { id: string }) => s.id)).toEqual(
      sessions.map((s: { id: string }) => s.id),
    );
    expect(JSON.stringify(bySub)).not.toMatch(/eyJ|token/i);

    const extended = await call(`/${sessions[0].id}/extend`, OPS_TOKEN, {
      method: 'POST',
      body: JSON.stringify({ ttlSeconds: 7200 }),
    });
    expect(extended.status).toBe(200);
    const [key] = (await redis.keys(sessionKeyPattern())).filter(k =>
      k.endsWith(sessions[0].id.split('.')[1]),
    );
    expect(await redis.pttl(key)).toBeGreaterThan(7100 * 1000);
    expect(
      (
        await call(`/${sessions[0].id}/extend`, OPS_TOKEN, {
          method: 'POST',
          body: JSON.stringify({ ttlSeconds: -1 }),
        })
      ).status,
    ).toBe(400);

    const revokeOne = await call(`/${sessions[0].id}`, alice.token, {
      method: 'DELETE',
    });
    expect(revokeOne.status).toBe(204);
    expect(await redis.exists(key)).toBe(0);
    expect(
      (await call(`/${sessions[0].id}`, alice.token, { method: 'DELETE' }))
        .status,
    ).toBe(404);
    expect((await call('?nobody=1', alice.token)).status).toBe(400);

    const revokeAll = await call('?user=user:default/bob', OPS_TOKEN, {
      method: 'DELETE',
    });
    expect(await revokeAll.json()).toEqual({ deleted: 1 });
    expect(
      (await (await call('?user=user:default/bob', alice.token)).json())
        .sessions,
    ).toEqual([]);
    expect(await (await call('/count', alice.token)).json()).toEqual({
      count: keysBefore - 2,
    });
    // alice's own session was not touched
    expect((await refresh(alice.browser, backend.authUrl)).status).toBe(200);
    expect(backend.logger.dump()).toContain(
      'Session admin: ops-cli revoked 1 session(s)',
    );
  });
});
