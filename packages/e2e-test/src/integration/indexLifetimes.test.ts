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
const PREFIX = 'idx:session:';
const REFRESH_TOKEN_TTL_SECONDS = 3;

/**
 * Every index lives at least as long as the sessions it points to: with
 * Keycloak's refresh_expires_in short, sessions live only as long as they
 * keep refreshing, and the admin API must still find them by user.
 */
describe('index lifetimes', () => {
  let idp: DevIdp;
  let redisServer: RedisServer;
  let redis: Redis;
  let backend: KeycloakTestBackend;

  beforeAll(async () => {
    [idp, redisServer] = await Promise.all([
      DevIdp.start(['--refresh-token-ttl', String(REFRESH_TOKEN_TTL_SECONDS)]),
      RedisServer.start(),
    ]);
    redis = redisServer.client();
    backend = await startKeycloakTestBackend({
      issuer: idp.issuer,
      realAuth: true,
      session: {
        store: 'redis',
        admin: { allow: ['ops-cli'] },
        redis: { url: redisServer.url, prefix: PREFIX },
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
  });

  afterAll(async () => {
    await backend?.stop();
    redis?.disconnect();
    await redisServer?.dispose();
    await idp?.stop();
  });

  const admin = (query: string, init: RequestInit = {}) =>
    fetch(`${backend.authUrl}/admin/sessions${query}`, {
      ...init,
      headers: {
        authorization: `Bearer ${OPS_TOKEN}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });

  async function pointerTtls() {
    const [session] = await redis.keys(sessionKeyPattern(PREFIX));
    const [entity] = await redis.keys(`${PREFIX}entity:*`);
    const [sid] = await redis.keys(`${PREFIX}sid:*`);
    return {
      session: await redis.pttl(session),
      entity: entity ? await redis.pttl(entity) : -2,
      sid: sid ? await redis.pttl(sid) : -2,
    };
  }

  it('the entity and sid pointers slide with every refresh, so ?user= finds and revokes a session that outlived its first TTL', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'alice');
    // keep refreshing for three times the refresh token's lifetime
    const until = Date.now() + REFRESH_TOKEN_TTL_SECONDS * 3 * 1000;
    while (Date.now() < until) {
      expect((await refresh(browser, backend.authUrl)).status).toBe(200);
      await new Promise(r => setTimeout(r, 700));
    }
    expect((await refresh(browser, backend.authUrl)).status).toBe(200);

    const ttls = await pointerTtls();
    expect(ttls.session).toBeGreaterThan(0);
    expect(ttls.entity).toBeGreaterThanOrEqual(ttls.session - 50);
    expect(ttls.sid).toBeGreaterThanOrEqual(ttls.session - 50);

    const listed = await admin('?user=user:default/alice');
    expect(listed.status).toBe(200);
    expect((await listed.json()).sessions).toHaveLength(1);
    const revoked = await admin('?user=user:default/alice', {
      method: 'DELETE',
    });
    expect(await revoked.json()).toMatchObject({ deleted: 1 });
    expect((await refresh(browser, backend.authUrl)).status).toBe(401);
  });

  it('an operator extension extends the pointers too', async () => {
    const browser = new Browser();
    await signIn(browser, backend.authUrl, 'bob');
    const [{ id }] = (await (await admin('?user=user:default/bob')).json())
      .sessions;
    const extended = await admin(`/${id}/extend`, {
      method: 'POST',
      body: JSON.stringify({ ttlSeconds: 600 }),
    });
    expect(extended.status).toBe(200);
    const [session] = (await redis.keys(sessionKeyPattern(PREFIX))).filter(k =>
      k.endsWith(id.split('.')[1]),
    );
    expect(await redis.pttl(session)).toBeGreaterThan(590_000);
    // bob's entity pointer is the one that lives that long
    const entityTtls = await Promise.all(
      (await redis.keys(`${PREFIX}entity:*`)).map(k => redis.pttl(k)),
    );
    expect(Math.max(...entityTtls)).toBeGreaterThan(590_000);
    const sidTtls = await Promise.all(
      (await redis.keys(`${PREFIX}sid:*`)).map(k => redis.pttl(k)),
    );
    expect(Math.max(...sidTtls)).toBeGreaterThan(590_000);
  });
});
